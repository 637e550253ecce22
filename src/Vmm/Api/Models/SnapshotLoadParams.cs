using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// PUT /snapshot/load (Firecracker's LoadSnapshotConfig, src/vmm/src/vmm_config/snapshot.rs): the
/// memory comes from <see cref="MemBackend"/> or the deprecated <see cref="MemFilePath"/>, exactly
/// one of them; <see cref="ResumeVm"/> runs the guest at once; <see cref="NetworkOverrides"/> name
/// other TAP devices for the snapshot's interfaces.
/// </summary>
public sealed class SnapshotLoadParams
{
    [JsonRequired]
    [JsonPropertyName("snapshot_path")]
    public string SnapshotPath { get; set; } = "";

    [JsonPropertyName("mem_file_path")]
    public string? MemFilePath { get; set; }

    [JsonPropertyName("mem_backend")]
    public MemBackendConfig? MemBackend { get; set; }

    [JsonPropertyName("enable_diff_snapshots")]
    public bool? EnableDiffSnapshots { get; set; }

    [JsonPropertyName("track_dirty_pages")]
    public bool? TrackDirtyPages { get; set; }

    [JsonPropertyName("resume_vm")]
    public bool? ResumeVm { get; set; }

    [JsonPropertyName("network_overrides")]
    public List<NetworkOverride>? NetworkOverrides { get; set; }
}

/// <summary>Where guest memory comes from: "File" (mapped) or "Uffd" (a page-fault handler; csvmm refuses it).</summary>
public sealed class MemBackendConfig
{
    [JsonRequired]
    [JsonPropertyName("backend_path")]
    public string BackendPath { get; set; } = "";

    [JsonRequired]
    [JsonPropertyName("backend_type")]
    public string BackendType { get; set; } = "";
}

/// <summary>The TAP device a restored interface uses instead of the one in the snapshot.</summary>
public sealed class NetworkOverride
{
    [JsonRequired]
    [JsonPropertyName("iface_id")]
    public string IfaceId { get; set; } = "";

    [JsonRequired]
    [JsonPropertyName("host_dev_name")]
    public string HostDevName { get; set; } = "";
}
