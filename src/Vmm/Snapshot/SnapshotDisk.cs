namespace Csvmm.Vmm.Snapshot;

/// <summary>
/// A disk as the snapshot saw it: the image it used and that image's size, which a restore must
/// match; its GET_ID serial and its API name (drive_id), if any.
/// </summary>
public sealed record SnapshotDisk(string Path, long SizeBytes, bool ReadOnly, string? Id, string? Name = null);
