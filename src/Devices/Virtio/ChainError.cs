namespace Csvmm.Devices.Virtio;

/// <summary>Why a descriptor chain was refused (virtio 1.2 §2.7.5, §2.7.5.3).</summary>
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
