using System.Runtime.InteropServices;

namespace Csvmm.Kvm;

/// <summary>struct kvm_xcr: one extended control register (XCR0 is index 0).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KvmXcr
{
    public uint Xcr;
    public uint Reserved;
    public ulong Value;
}
