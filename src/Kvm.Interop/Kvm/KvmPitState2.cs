using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>struct kvm_pit_state2 (KVM_GET_PIT2/KVM_SET_PIT2): the three PIT channels and flags.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmPitState2
{
    public KvmPitChannelState Channel0;
    public KvmPitChannelState Channel1;
    public KvmPitChannelState Channel2;
    public uint Flags;
    public fixed uint Reserved[9];
}
