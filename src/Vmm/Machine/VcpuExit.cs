using Csvmm.Kvm;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// Why one KVM_RUN returned, with the data the exit carries (views into the kvm_run page, valid
/// until the next run). A plain value a unit test can build by hand to drive
/// <see cref="VcpuExitHandler"/> without KVM.
/// </summary>
public readonly ref struct VcpuExit
{
    /// <summary>KVM_RUN was interrupted (a kick, or a signal) before the guest exited.</summary>
    public bool Interrupted { get; init; }

    public KvmExitReason Reason { get; init; }

    // KVM_EXIT_IO: count items of IoSize bytes each, all for Port.
    public ushort IoPort { get; init; }
    public bool IoIsOut { get; init; }
    public int IoSize { get; init; }
    public Span<byte> IoData { get; init; }

    // KVM_EXIT_MMIO
    public ulong MmioAddress { get; init; }
    public bool MmioIsWrite { get; init; }
    public Span<byte> MmioData { get; init; }

    // KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_FAIL_ENTRY / UNKNOWN, KVM_EXIT_INTERNAL_ERROR
    public uint SystemEventType { get; init; }
    public ulong HardwareReason { get; init; }
    public uint InternalSuberror { get; init; }
    public ReadOnlySpan<ulong> InternalData { get; init; }

    /// <summary>For an emulation failure: the instruction bytes KVM fetched at RIP (may be empty).</summary>
    public ReadOnlySpan<byte> InstructionBytes { get; init; }

    public static VcpuExit Interruption => new() { Interrupted = true, Reason = KvmExitReason.Intr };
}
