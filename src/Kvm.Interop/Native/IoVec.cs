using System.Runtime.InteropServices;

namespace Csvmm.Host.Native;

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoVec
{
    public nint Base;
    public nuint Length;
}
