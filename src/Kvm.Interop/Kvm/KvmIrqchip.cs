using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>
/// struct kvm_irqchip (KVM_GET_IRQCHIP/KVM_SET_IRQCHIP): one in-kernel interrupt controller's
/// state, a 512-byte union holding struct kvm_pic_state or struct kvm_ioapic_state depending on
/// <see cref="ChipId"/>. csvmm moves the union as opaque bytes; the few fields tests and
/// messages read have accessors.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmIrqchip
{
    public const uint PicMaster = 0;
    public const uint PicSlave = 1;
    public const uint Ioapic = 2;
    public const int ChipSize = 512;

    /// <summary>struct kvm_pic_state: irq_base, the vector of IRQ 0 of this PIC.</summary>
    public const int PicIrqBaseOffset = 5;
    /// <summary>struct kvm_pic_state: imr, the interrupt mask register.</summary>
    public const int PicImrOffset = 2;
    /// <summary>struct kvm_ioapic_state: redirtbl[], 24 little-endian u64 entries.</summary>
    public const int IoapicRedirectionTableOffset = 24;

    public uint ChipId;
    public uint Pad;
    public fixed byte Chip[ChipSize];

    public byte ChipByte(int offset)
    {
        if ((uint)offset >= ChipSize) throw new ArgumentOutOfRangeException(nameof(offset));
        return Chip[offset];
    }
}
