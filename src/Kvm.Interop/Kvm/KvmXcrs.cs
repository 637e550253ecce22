using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>struct kvm_xcrs (KVM_GET_XCRS/KVM_SET_XCRS): up to 16 XCRs, <see cref="NrXcrs"/> of them valid.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmXcrs
{
    public const int MaxXcrs = 16;

    public uint NrXcrs;
    public uint Flags;
    private fixed byte _xcrs[MaxXcrs * 16];
    private fixed ulong _padding[16];

    public KvmXcr GetXcr(int i)
    {
        if ((uint)i >= MaxXcrs) throw new ArgumentOutOfRangeException(nameof(i));
        fixed (byte* p = _xcrs) return ((KvmXcr*)p)[i];
    }

    public void SetXcr(int i, KvmXcr xcr)
    {
        if ((uint)i >= MaxXcrs) throw new ArgumentOutOfRangeException(nameof(i));
        fixed (byte* p = _xcrs) ((KvmXcr*)p)[i] = xcr;
    }
}
