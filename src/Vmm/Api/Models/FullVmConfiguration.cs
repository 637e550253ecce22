using System.Text.Json;
using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// GET /vm/config, and the <c>--config-file</c> JSON (Firecracker's VmmConfig, src/vmm/src/resources.rs,
/// kebab-case keys). The sections of devices csvmm does not have are parsed as raw JSON so that
/// a present one is refused by name rather than reported as unknown.
/// </summary>
public sealed class FullVmConfiguration
{
    [JsonPropertyName("balloon")]
    public JsonElement? Balloon { get; set; }

    [JsonPropertyName("drives")]
    public List<DriveConfig>? Drives { get; set; }

    [JsonPropertyName("boot-source")]
    public BootSourceConfig? BootSource { get; set; }

    [JsonPropertyName("cpu-config")]
    public JsonElement? CpuConfig { get; set; }

    [JsonPropertyName("logger")]
    public LoggerConfig? Logger { get; set; }

    [JsonPropertyName("machine-config")]
    public MachineConfig? MachineConfig { get; set; }

    [JsonPropertyName("metrics")]
    public MetricsConfig? Metrics { get; set; }

    [JsonPropertyName("mmds-config")]
    public JsonElement? MmdsConfig { get; set; }

    [JsonPropertyName("network-interfaces")]
    public List<NetworkInterfaceConfig>? NetworkInterfaces { get; set; }

    [JsonPropertyName("vsock")]
    public JsonElement? Vsock { get; set; }

    [JsonPropertyName("entropy")]
    public JsonElement? Entropy { get; set; }

    [JsonPropertyName("pmem")]
    public JsonElement? Pmem { get; set; }

    [JsonPropertyName("memory-hotplug")]
    public JsonElement? MemoryHotplug { get; set; }
}
