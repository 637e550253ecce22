using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// PUT /snapshot/create (Firecracker's CreateSnapshotParams, src/vmm/src/vmm_config/snapshot.rs):
/// the state goes to <see cref="SnapshotPath"/>, guest memory to <see cref="MemFilePath"/>. Only
/// "Full" snapshots: csvmm tracks no dirty pages.
/// </summary>
public sealed class SnapshotCreateParams
{
    [JsonPropertyName("snapshot_type")]
    public string? SnapshotType { get; set; }

    [JsonRequired]
    [JsonPropertyName("snapshot_path")]
    public string SnapshotPath { get; set; } = "";

    [JsonRequired]
    [JsonPropertyName("mem_file_path")]
    public string MemFilePath { get; set; } = "";

    /// <summary>Accepted by older Firecracker versions (a target snapshot version); ignored.</summary>
    [JsonPropertyName("version")]
    public string? Version { get; set; }
}
