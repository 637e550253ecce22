using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>struct kvm_clock_data (KVM_GET_CLOCK/KVM_SET_CLOCK): the VM's kvmclock in nanoseconds.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct KvmClockData
{
    public const uint FlagTscStable = 2;
    public const uint FlagRealtime = 4;
    public const uint FlagHostTsc = 8;

    public ulong Clock;
    public uint Flags;
    public uint Pad0;
    public ulong Realtime;
    public ulong HostTsc;
    public fixed uint Pad[4];
}
