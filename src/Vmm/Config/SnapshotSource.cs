namespace Csvmm.Vmm.Config;

/// <summary>A snapshot to start from: its state file and its memory file.</summary>
public sealed record SnapshotSource(string StatePath, string MemoryPath)
{
    /// <summary>The state file, read and verified once (by <c>csvmm restore</c> or the API) before anything is built.</summary>
    public Snapshot.SnapshotContents? Contents { get; init; }

    public const string StateFileName = "vm.snap";
    public const string MemoryFileName = "vm.mem";

    /// <summary>The two files <c>--snapshot-to DIR</c> writes.</summary>
    public static SnapshotSource InDirectory(string dir) => new(Path.Combine(dir, StateFileName), Path.Combine(dir, MemoryFileName));
}
