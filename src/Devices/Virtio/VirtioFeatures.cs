namespace Csvmm.Devices.Virtio;

/// <summary>Transport-level feature bits (virtio 1.2 §6), as 64-bit masks.</summary>
public static class VirtioFeatures
{
    public const ulong IndirectDesc = 1UL << 28;
    public const ulong EventIdx = 1UL << 29;

    /// <summary>Mandatory for virtio-mmio version 2: Linux refuses a device that lacks it.</summary>
    public const ulong Version1 = 1UL << 32;
}
