using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>
/// struct kvm_xsave without the flexible <c>extra</c> array: the 4096-byte legacy region that
/// sizes the KVM_GET_XSAVE/KVM_SET_XSAVE/KVM_GET_XSAVE2 request numbers. The state itself moves
/// as a byte buffer of <see cref="KvmVcpu.XsaveSize"/> bytes, which may be larger
/// (arch/x86/include/uapi/asm/kvm.h: "KVM_GET_XSAVE2 and KVM_SET_XSAVE write and read as many
/// bytes as are returned by KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)").
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmXsave
{
    public const int LegacySize = 4096;

    public fixed uint Region[LegacySize / 4];
}
