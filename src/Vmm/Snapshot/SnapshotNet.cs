namespace Csvmm.Vmm.Snapshot;

/// <summary>A network interface as the snapshot saw it: its TAP, the guest's MAC and its API name (iface_id), if any.</summary>
public sealed record SnapshotNet(string Tap, string Mac, string? Name = null);
