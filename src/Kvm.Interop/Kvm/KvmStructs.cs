using Csvmm.Host.Memory;
using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

// Blittable mirrors of the KVM UAPI structs (include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h).
// Sizes and offsets are checked against the C headers by tests/Kvm.Interop.Tests (gcc probe).

[StructLayout(LayoutKind.Sequential)]
public struct KvmUserspaceMemoryRegion
{
    public uint Slot;
    public uint Flags;
    public ulong GuestPhysAddr;
    public ulong MemorySize;
    public ulong UserspaceAddr;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmRegs
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmSegment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type;
    public byte Present, Dpl, Db, S, L, G, Avl;
    public byte Unusable;
    public byte Padding;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    public ushort Padding0, Padding1, Padding2;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmSregs
{
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss;
    public KvmSegment Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8;
    public ulong Efer;
    public ulong ApicBase;
    public fixed ulong InterruptBitmap[4];
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmFpu
{
    public fixed byte Fpr[128];
    public ushort Fcw;
    public ushort Fsw;
    public byte Ftwx;
    public byte Pad1;
    public ushort LastOpcode;
    public ulong LastIp;
    public ulong LastDp;
    public fixed byte Xmm[256];
    public uint Mxcsr;
    public uint Pad2;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrEntry
{
    public uint Index;
    public uint Reserved;
    public ulong Data;
}

/// <summary>struct kvm_msrs without its flexible entries array.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrsHeader
{
    public uint Nmsrs;
    public uint Pad;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmCpuidEntry2
{
    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax, Ebx, Ecx, Edx;
    public uint Padding0, Padding1, Padding2;

    public const uint FlagSignificantIndex = 1;
}

/// <summary>struct kvm_cpuid2 without its flexible entries array.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmCpuid2Header
{
    public uint Nent;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmPitConfig
{
    public uint Flags;
    public fixed uint Pad[15];

    public const uint SpeakerDummy = 1;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqLevel
{
    public uint Irq;
    public uint Level;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmIrqfd
{
    public uint Fd;
    public uint Gsi;
    public uint Flags;
    public uint ResampleFd;
    public fixed byte Pad[16];

    public const uint FlagDeassign = 1;
    public const uint FlagResample = 2;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmIoeventfd
{
    public ulong Datamatch;
    public ulong Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
    public fixed byte Pad[36];

    public const uint FlagDatamatch = 1;
    public const uint FlagPio = 2;
    public const uint FlagDeassign = 4;
}

[StructLayout(LayoutKind.Sequential)]
public struct KvmMpState
{
    public uint MpState;

    public const uint Runnable = 0;
    public const uint Uninitialized = 1;
    public const uint InitReceived = 2;
    public const uint Halted = 3;
    public const uint SipiReceived = 4;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmLapicState
{
    public fixed byte Regs[1024];

    /// <summary>A 32-bit APIC register at its byte offset in the APIC page (e.g. 0x350 LVT LINT0).</summary>
    public uint GetRegister(int offset)
    {
        if ((uint)offset > 1024 - 4 || (offset & 3) != 0) throw new ArgumentOutOfRangeException(nameof(offset));
        fixed (byte* p = Regs) return *(uint*)(p + offset);
    }

    public void SetRegister(int offset, uint value)
    {
        if ((uint)offset > 1024 - 4 || (offset & 3) != 0) throw new ArgumentOutOfRangeException(nameof(offset));
        fixed (byte* p = Regs) *(uint*)(p + offset) = value;
    }
}

/// <summary>struct kvm_irq_routing without its flexible entries array (KVM_SET_GSI_ROUTING).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmIrqRoutingHeader
{
    public uint Nr;
    public uint Flags;
}

/// <summary>
/// struct kvm_irq_routing_entry: a GSI routed to an in-kernel irqchip pin (type 1) or to an MSI
/// message (type 2). The union is 32 bytes; only the fields csvmm uses are named.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
public struct KvmIrqRoutingEntry
{
    public const uint TypeIrqchip = 1;
    public const uint TypeMsi = 2;
    public const uint IrqchipPicMaster = 0;
    public const uint IrqchipPicSlave = 1;
    public const uint IrqchipIoapic = 2;

    [FieldOffset(0)] public uint Gsi;
    [FieldOffset(4)] public uint Type;
    [FieldOffset(8)] public uint Flags;
    [FieldOffset(12)] public uint Pad;
    // u.irqchip
    [FieldOffset(16)] public uint Irqchip;
    [FieldOffset(20)] public uint Pin;
    // u.msi
    [FieldOffset(16)] public uint MsiAddressLo;
    [FieldOffset(20)] public uint MsiAddressHi;
    [FieldOffset(24)] public uint MsiData;

    public static KvmIrqRoutingEntry ToIrqchip(uint gsi, uint irqchip, uint pin) =>
        new() { Gsi = gsi, Type = TypeIrqchip, Irqchip = irqchip, Pin = pin };

    public static KvmIrqRoutingEntry ToMsi(uint gsi, ulong address, uint data) =>
        new() { Gsi = gsi, Type = TypeMsi, MsiAddressLo = (uint)address, MsiAddressHi = (uint)(address >> 32), MsiData = data };
}

