namespace Csvmm.Devices.Virtio;

/// <summary>Why a descriptor chain was refused (REFERENCE 4.4, 4.7).</summary>
public enum ChainError
{
    None,
    NextOutOfRange,
    ChainTooLong,
    IndirectNotNegotiated,
    NestedIndirect,
    IndirectWithNext,
    IndirectBadLength,
    IndirectTableOutsideMemory,
    BufferOutsideMemory,
    ReadableAfterWritable,
}
