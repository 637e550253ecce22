using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>struct kvm_debugregs (KVM_GET_DEBUGREGS/KVM_SET_DEBUGREGS): DR0-DR3, DR6, DR7.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmDebugRegs
{
    public fixed ulong Db[4];
    public ulong Dr6;
    public ulong Dr7;
    /// <summary>Must be 0: KVM_SET_DEBUGREGS refuses any flag (arch/x86/kvm/x86.c, kvm_vcpu_ioctl_x86_set_debugregs).</summary>
    public ulong Flags;
    public fixed ulong Reserved[9];
}
