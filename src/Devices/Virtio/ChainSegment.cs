namespace Csvmm.Devices.Virtio;

/// <summary>One non-empty buffer of a descriptor chain, already checked to lie wholly in guest RAM.</summary>
public readonly record struct ChainSegment(ulong Address, uint Length, bool Writable);
