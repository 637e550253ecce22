namespace Csvmm.Vmm.Snapshot;

/// <summary>A snapshot that cannot be used: missing, truncated, altered, from another csvmm version or host, or with disks of the wrong size.</summary>
public sealed class SnapshotException : Exception
{
    public SnapshotException(SnapshotProblem problem, string message, Exception? inner = null) : base(message, inner) => Problem = problem;

    public SnapshotProblem Problem { get; }
}
