using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// PUT /drives/{drive_id} and the config file's "drives" items (Firecracker's BlockDeviceConfig,
/// src/vmm/src/vmm_config/drive.rs). <see cref="Socket"/> (vhost-user-block), a non-empty
/// <see cref="RateLimiter"/> and io_engine "Async" are refused by csvmm.
/// </summary>
public sealed class DriveConfig
{
    [JsonRequired]
    [JsonPropertyName("drive_id")]
    public string DriveId { get; set; } = "";

    [JsonPropertyName("partuuid")]
    public string? PartUuid { get; set; }

    [JsonRequired]
    [JsonPropertyName("is_root_device")]
    public bool IsRootDevice { get; set; }

    /// <summary>"Unsafe" (Firecracker's default) or "Writeback".</summary>
    [JsonPropertyName("cache_type")]
    public string? CacheType { get; set; }

    [JsonPropertyName("is_read_only")]
    public bool? IsReadOnly { get; set; }

    [JsonPropertyName("path_on_host")]
    public string? PathOnHost { get; set; }

    [JsonPropertyName("rate_limiter")]
    public RateLimiterConfig? RateLimiter { get; set; }

    /// <summary>"Sync" (Firecracker's default) or "Async".</summary>
    [JsonPropertyName("io_engine")]
    public string? IoEngine { get; set; }

    [JsonPropertyName("socket")]
    public string? Socket { get; set; }
}
