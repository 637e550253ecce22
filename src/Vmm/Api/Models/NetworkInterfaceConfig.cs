using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// PUT /network-interfaces/{iface_id} and the config file's "network-interfaces" items
/// (Firecracker's NetworkInterfaceConfig, src/vmm/src/vmm_config/net.rs). <see cref="Mtu"/> and
/// configured rate limiters are refused by csvmm.
/// </summary>
public sealed class NetworkInterfaceConfig
{
    [JsonRequired]
    [JsonPropertyName("iface_id")]
    public string IfaceId { get; set; } = "";

    [JsonRequired]
    [JsonPropertyName("host_dev_name")]
    public string HostDevName { get; set; } = "";

    [JsonPropertyName("guest_mac")]
    public string? GuestMac { get; set; }

    [JsonPropertyName("mtu")]
    public int? Mtu { get; set; }

    [JsonPropertyName("rx_rate_limiter")]
    public RateLimiterConfig? RxRateLimiter { get; set; }

    [JsonPropertyName("tx_rate_limiter")]
    public RateLimiterConfig? TxRateLimiter { get; set; }
}
