using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>Firecracker's TokenBucketConfig: parsed so a configured limit can be refused by name.</summary>
public sealed class TokenBucketConfig
{
    [JsonRequired]
    [JsonPropertyName("size")]
    public ulong Size { get; set; }

    [JsonPropertyName("one_time_burst")]
    public ulong? OneTimeBurst { get; set; }

    [JsonRequired]
    [JsonPropertyName("refill_time")]
    public ulong RefillTime { get; set; }
}
