namespace Csvmm.Vmm.Api;

/// <summary>The machine a loaded snapshot holds (what GET /machine-config reports after PUT /snapshot/load).</summary>
public sealed record SnapshotShape(int Vcpus, int MemoryMiB);
