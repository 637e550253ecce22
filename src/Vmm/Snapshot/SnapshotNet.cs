namespace Csvmm.Vmm.Snapshot;

/// <summary>A network interface as the snapshot saw it: its TAP and the guest's MAC.</summary>
public sealed record SnapshotNet(string Tap, string Mac);
