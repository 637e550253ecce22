using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>
/// struct kvm_vcpu_events (KVM_GET_VCPU_EVENTS/KVM_SET_VCPU_EVENTS): pending or injected
/// exception, interrupt and NMI, the interrupt shadow, SMM state. <see cref="Flags"/> says which
/// of the optional fields KVM_SET_VCPU_EVENTS is to apply (Documentation/virt/kvm/api.rst).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct KvmVcpuEvents
{
    public const uint ValidNmiPending = 0x1;
    public const uint ValidSipiVector = 0x2;
    public const uint ValidShadow = 0x4;
    public const uint ValidSmm = 0x8;
    public const uint ValidPayload = 0x10;
    public const uint ValidTripleFault = 0x20;

    [FieldOffset(0)] public byte ExceptionInjected;
    [FieldOffset(1)] public byte ExceptionNr;
    [FieldOffset(2)] public byte ExceptionHasErrorCode;
    [FieldOffset(3)] public byte ExceptionPending;
    [FieldOffset(4)] public uint ExceptionErrorCode;
    [FieldOffset(8)] public byte InterruptInjected;
    [FieldOffset(9)] public byte InterruptNr;
    [FieldOffset(10)] public byte InterruptSoft;
    [FieldOffset(11)] public byte InterruptShadow;
    [FieldOffset(12)] public byte NmiInjected;
    [FieldOffset(13)] public byte NmiPending;
    [FieldOffset(14)] public byte NmiMasked;
    [FieldOffset(15)] public byte NmiPad;
    [FieldOffset(16)] public uint SipiVector;
    [FieldOffset(20)] public uint Flags;
    [FieldOffset(24)] public byte SmiSmm;
    [FieldOffset(25)] public byte SmiPending;
    [FieldOffset(26)] public byte SmiInsideNmi;
    [FieldOffset(27)] public byte SmiLatchedInit;
    [FieldOffset(28)] public byte TripleFaultPending;
    // reserved[26] at 29..54
    [FieldOffset(55)] public byte ExceptionHasPayload;
    [FieldOffset(56)] public ulong ExceptionPayload;
}
