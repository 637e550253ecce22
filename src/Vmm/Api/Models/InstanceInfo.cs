using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>GET / (Firecracker's InstanceInfo, src/vmm/src/vmm_config/instance_info.rs).</summary>
public sealed class InstanceInfo
{
    [JsonPropertyName("id")]
    public string Id { get; set; } = "";

    /// <summary>"Not started", "Running" or "Paused".</summary>
    [JsonPropertyName("state")]
    public string State { get; set; } = "";

    [JsonPropertyName("vmm_version")]
    public string VmmVersion { get; set; } = "";

    [JsonPropertyName("app_name")]
    public string AppName { get; set; } = "";
}
