using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PATCH /machine-config: every key optional, absent keys keep their value.</summary>
public sealed class MachineConfigUpdate
{
    [JsonPropertyName("vcpu_count")]
    public int? VcpuCount { get; set; }

    [JsonPropertyName("mem_size_mib")]
    public long? MemSizeMib { get; set; }

    [JsonPropertyName("smt")]
    public bool? Smt { get; set; }

    [JsonPropertyName("cpu_template")]
    public string? CpuTemplate { get; set; }

    [JsonPropertyName("track_dirty_pages")]
    public bool? TrackDirtyPages { get; set; }

    [JsonPropertyName("huge_pages")]
    public string? HugePages { get; set; }

    [JsonIgnore]
    public bool IsEmpty => VcpuCount is null && MemSizeMib is null && Smt is null && CpuTemplate is null
        && TrackDirtyPages is null && HugePages is null;
}
