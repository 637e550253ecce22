namespace Csvmm.Vmm.Snapshot;

/// <summary>Why a snapshot was refused; decides the exit code.</summary>
public enum SnapshotProblem
{
    /// <summary>A snapshot file is missing or unreadable (66).</summary>
    Missing,

    /// <summary>Truncated, altered, or written by another csvmm version or format (65).</summary>
    Invalid,

    /// <summary>Well-formed but not for this host or these disks: another CPU, a disk of another size (78).</summary>
    Mismatch,
}
