namespace Csvmm.Host.Memory;

/// <summary>One contiguous guest-physical range and where it lives in this process.</summary>
public readonly record struct GuestRegion(ulong GuestAddress, ulong Size, nint HostAddress)
{
    public ulong End => GuestAddress + Size;
}
