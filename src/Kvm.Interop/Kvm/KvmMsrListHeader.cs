using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>struct kvm_msr_list without its flexible indices array (KVM_GET_MSR_INDEX_LIST).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmMsrListHeader
{
    public uint Nmsrs;
}
