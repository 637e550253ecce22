using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// GET/PUT /machine-config and the config file's "machine-config" (Firecracker's MachineConfig,
/// src/vmm/src/vmm_config/machine_config.rs). A PUT resets the optional keys it omits to their
/// defaults; a PATCH (<see cref="MachineConfigUpdate"/>) keeps them.
/// </summary>
public sealed class MachineConfig
{
    /// <summary>Firecracker's DEFAULT_MEM_SIZE_MIB: GET before any PUT reports 1 vCPU and 128 MiB.</summary>
    public const int DefaultMemSizeMib = 128;

    [JsonRequired]
    [JsonPropertyName("vcpu_count")]
    public int VcpuCount { get; set; } = 1;

    [JsonRequired]
    [JsonPropertyName("mem_size_mib")]
    public long MemSizeMib { get; set; } = DefaultMemSizeMib;

    [JsonPropertyName("smt")]
    public bool? Smt { get; set; }

    /// <summary>Firecracker omits it from GET unless a static template is set.</summary>
    [JsonPropertyName("cpu_template")]
    public string? CpuTemplate { get; set; }

    [JsonPropertyName("track_dirty_pages")]
    public bool? TrackDirtyPages { get; set; }

    /// <summary>"None", "Transparent" or "2M".</summary>
    [JsonPropertyName("huge_pages")]
    public string? HugePages { get; set; }

    public MachineConfig Clone() => (MachineConfig)MemberwiseClone();
}
