using Csvmm.Vmm.Config;

namespace Csvmm.Vmm.Snapshot;

/// <summary>
/// Everything a snapshot's state file holds: the machine's shape (memory, vCPUs, transport, disks
/// and nets in order), the KVM state of every vCPU and of the VM, and each device's state. Guest
/// memory lives in its own file (<see cref="MemoryBytes"/> long).
/// </summary>
public sealed record SnapshotContents
{
    public required string CsvmmVersion { get; init; }
    public required int MemoryMiB { get; init; }
    public required int Cpus { get; init; }
    public required VirtioTransportKind Transport { get; init; }
    public required IReadOnlyList<SnapshotDisk> Disks { get; init; }
    public required IReadOnlyList<SnapshotNet> Nets { get; init; }
    public required ulong MemoryBytes { get; init; }
    /// <summary>The command line the guest booted with, for information.</summary>
    public required string KernelCommandLine { get; init; }
    public required IReadOnlyList<byte[]> VcpuStates { get; init; }
    public required byte[] VmState { get; init; }
    public required byte[] Serial { get; init; }
    public required byte[] I8042 { get; init; }
    /// <summary>One per virtio device, in attach order (disks, then nets).</summary>
    public required IReadOnlyList<byte[]> VirtioDevices { get; init; }
}
