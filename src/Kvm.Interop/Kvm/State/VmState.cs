namespace Csvmm.Kvm.State;

/// <summary>
/// The VM-wide KVM state a snapshot needs with the in-kernel irqchip and PIT: both 8259 PICs,
/// the IOAPIC, the PIT's three channels and the kvmclock. Guest memory, memory slots, GSI routing,
/// irqfds and ioeventfds are not KVM state to read back: the VMM sets them up again as it did at
/// boot. The order of the calls follows Firecracker (src/vmm/src/arch/x86_64/vm.rs,
/// save_state/restore_state).
/// </summary>
public sealed record VmState
{
    /// <summary>The serialized format this csvmm writes and reads; see <see cref="Serialize"/>.</summary>
    public const ushort FormatVersion = 1;

    /// <summary>"CVVM" (csvmm VM) as a little-endian u32.</summary>
    private const uint Magic = 0x4D565643;

    public required KvmIrqchip PicMaster { get; init; }
    public required KvmIrqchip PicSlave { get; init; }
    public required KvmIrqchip Ioapic { get; init; }
    public required KvmPitState2 Pit { get; init; }
    public required KvmClockData Clock { get; init; }

    /// <summary>
    /// Reads the VM's state. Capture it with every vCPU out of KVM_RUN, after the devices' state
    /// (a device that raises an interrupt while being saved must find it in the irqchip state:
    /// Firecracker lib.rs save_state) and after the vCPUs'.
    /// </summary>
    public static VmState Capture(KvmVm vm) => new()
    {
        Pit = vm.GetPit2(),
        Clock = vm.GetClock(),
        PicMaster = vm.GetIrqchip(KvmIrqchip.PicMaster),
        PicSlave = vm.GetIrqchip(KvmIrqchip.PicSlave),
        Ioapic = vm.GetIrqchip(KvmIrqchip.Ioapic),
    };

    /// <summary>
    /// Writes this state into <paramref name="vm"/>, a fresh VM with KVM_CREATE_IRQCHIP and
    /// KVM_CREATE_PIT2 done, after every vCPU's <see cref="VcpuState.Restore"/> (Firecracker
    /// builder.rs restores the vCPUs, then the VM): KVM_SET_CLOCK computes the kvmclock offset
    /// from the master clock, which the vCPUs' MSR_IA32_TSC writes may have just changed
    /// (arch/x86/kvm/x86.c, kvm_vm_ioctl_set_clock).
    /// </summary>
    public void Restore(KvmVm vm)
    {
        vm.SetPit2(Pit);
        // The kvmclock resumes from the captured value, so to the guest no time passed while it
        // was saved: no soft-lockup or RCU-stall warnings for the gap. The flags are dropped
        // because KVM_CLOCK_REALTIME would advance it by the wall-clock time since the capture
        // (Firecracker does the same unless asked for clock_realtime).
        var clock = Clock;
        clock.Flags = 0;
        vm.SetClock(clock);
        vm.SetIrqchip(PicMaster);
        vm.SetIrqchip(PicSlave);
        vm.SetIrqchip(Ioapic);
    }

    private enum Tag : ushort { PicMaster = 1, PicSlave = 2, Ioapic = 3, Pit = 4, Clock = 5 }

    private static string? TagName(ushort tag) => Enum.IsDefined((Tag)tag) ? ((Tag)tag).ToString() : null;

    /// <summary>
    /// The state as a self-checking image in the container <see cref="VcpuState.Serialize"/>
    /// describes, magic "CVVM": three struct kvm_irqchip (520 bytes each), struct kvm_pit_state2
    /// and struct kvm_clock_data.
    /// </summary>
    public byte[] Serialize()
    {
        var w = new StateImageWriter(Magic, FormatVersion);
        w.Add((ushort)Tag.PicMaster, PicMaster);
        w.Add((ushort)Tag.PicSlave, PicSlave);
        w.Add((ushort)Tag.Ioapic, Ioapic);
        w.Add((ushort)Tag.Pit, Pit);
        w.Add((ushort)Tag.Clock, Clock);
        return w.ToArray();
    }

    /// <summary>Reads an image <see cref="Serialize"/> wrote; anything else is a <see cref="KvmStateFormatException"/>.</summary>
    public static VmState Deserialize(ReadOnlySpan<byte> image)
    {
        var r = StateImageReader.Parse(image, Magic, FormatVersion, "VM state", TagName);
        return new VmState
        {
            PicMaster = Chip(r, Tag.PicMaster, KvmIrqchip.PicMaster),
            PicSlave = Chip(r, Tag.PicSlave, KvmIrqchip.PicSlave),
            Ioapic = Chip(r, Tag.Ioapic, KvmIrqchip.Ioapic),
            Pit = r.Read<KvmPitState2>((ushort)Tag.Pit),
            Clock = r.Read<KvmClockData>((ushort)Tag.Clock),
        };
    }

    private static KvmIrqchip Chip(StateImageReader r, Tag tag, uint chipId)
    {
        var chip = r.Read<KvmIrqchip>((ushort)tag);
        if (chip.ChipId != chipId)
            throw r.Fail($"has chip id {chip.ChipId} in its {tag} component, expected {chipId}");
        return chip;
    }
}
