namespace Csvmm.Devices.Virtio;

/// <summary>Device status register bits (virtio 1.2 §2.1).</summary>
public static class VirtioStatus
{
    public const uint Acknowledge = 1;
    public const uint Driver = 2;
    public const uint DriverOk = 4;
    public const uint FeaturesOk = 8;
    public const uint DeviceNeedsReset = 64;
    public const uint Failed = 128;
}
