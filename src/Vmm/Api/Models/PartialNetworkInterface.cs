using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PATCH /network-interfaces/{iface_id} after start (Firecracker's NetworkInterfaceUpdateConfig).</summary>
public sealed class PartialNetworkInterface
{
    [JsonRequired]
    [JsonPropertyName("iface_id")]
    public string IfaceId { get; set; } = "";

    [JsonPropertyName("rx_rate_limiter")]
    public RateLimiterConfig? RxRateLimiter { get; set; }

    [JsonPropertyName("tx_rate_limiter")]
    public RateLimiterConfig? TxRateLimiter { get; set; }
}
