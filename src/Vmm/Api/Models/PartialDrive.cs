using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PATCH /drives/{drive_id} after start (Firecracker's BlockDeviceUpdateConfig).</summary>
public sealed class PartialDrive
{
    [JsonRequired]
    [JsonPropertyName("drive_id")]
    public string DriveId { get; set; } = "";

    [JsonPropertyName("path_on_host")]
    public string? PathOnHost { get; set; }

    [JsonPropertyName("rate_limiter")]
    public RateLimiterConfig? RateLimiter { get; set; }
}
