using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// Firecracker's RateLimiterConfig (src/vmm/src/vmm_config/mod.rs). csvmm has no rate limiter:
/// it accepts only the "no limit" forms, absent, null or <c>{}</c> (Kata Containers sends <c>{}</c>
/// for an interface without limits), and refuses a configured bucket.
/// </summary>
public sealed class RateLimiterConfig
{
    [JsonPropertyName("bandwidth")]
    public TokenBucketConfig? Bandwidth { get; set; }

    [JsonPropertyName("ops")]
    public TokenBucketConfig? Ops { get; set; }

    [JsonIgnore]
    public bool IsUnlimited => Bandwidth is null && Ops is null;
}
