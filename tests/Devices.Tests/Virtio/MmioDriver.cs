using Xunit;
using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;

namespace Csvmm.Devices.Tests.Virtio;

/// <summary>
/// Performs the Linux virtio-mmio driver's register accesses against a transport, in the order of
/// drivers/virtio/virtio_mmio.c and virtio 1.2 §3.1.1 / §4.2.3.1 (device initialization).
/// </summary>
public static class MmioDriver
{
    public const ulong DeviceFeatures = 0x010, DeviceFeaturesSel = 0x014, DriverFeatures = 0x020, DriverFeaturesSel = 0x024;
    public const ulong QueueSel = 0x030, QueueNumMax = 0x034, QueueNum = 0x038, QueueReady = 0x044, QueueNotify = 0x050;
    public const ulong InterruptStatus = 0x060, InterruptAck = 0x064, Status = 0x070;
    public const ulong QueueDescLow = 0x080, QueueDescHigh = 0x084, QueueDriverLow = 0x090, QueueDriverHigh = 0x094;
    public const ulong QueueDeviceLow = 0x0A0, QueueDeviceHigh = 0x0A4, ConfigGeneration = 0x0FC, Config = 0x100;

    public static uint Read32(this VirtioMmioTransport t, ulong offset)
    {
        Span<byte> b = stackalloc byte[4];
        t.Read(offset, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public static void Write32(this VirtioMmioTransport t, ulong offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        t.Write(offset, b);
    }

    public static ulong ReadDeviceFeatures(this VirtioMmioTransport t)
    {
        t.Write32(DeviceFeaturesSel, 1);
        ulong high = t.Read32(DeviceFeatures);
        t.Write32(DeviceFeaturesSel, 0);
        return (high << 32) | t.Read32(DeviceFeatures);
    }

    public static void WriteDriverFeatures(this VirtioMmioTransport t, ulong features)
    {
        t.Write32(DriverFeaturesSel, 1);
        t.Write32(DriverFeatures, (uint)(features >> 32));
        t.Write32(DriverFeaturesSel, 0);
        t.Write32(DriverFeatures, (uint)features);
    }

    /// <summary>Reset, ACK, DRIVER, features, FEATURES_OK; returns whether FEATURES_OK stuck.</summary>
    public static bool Negotiate(this VirtioMmioTransport t, ulong features)
    {
        t.Write32(Status, 0);
        t.Write32(Status, VirtioStatus.Acknowledge);
        t.Write32(Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        t.WriteDriverFeatures(features);
        t.Write32(Status, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);
        return (t.Read32(Status) & VirtioStatus.FeaturesOk) != 0;
    }

    public static void SetupQueue(this VirtioMmioTransport t, uint index, uint size, ulong desc, ulong avail, ulong used)
    {
        t.Write32(QueueSel, index);
        t.Write32(QueueNum, size);
        t.Write32(QueueDescLow, (uint)desc);
        t.Write32(QueueDescHigh, (uint)(desc >> 32));
        t.Write32(QueueDriverLow, (uint)avail);
        t.Write32(QueueDriverHigh, (uint)(avail >> 32));
        t.Write32(QueueDeviceLow, (uint)used);
        t.Write32(QueueDeviceHigh, (uint)(used >> 32));
        t.Write32(QueueReady, 1);
    }

    public const uint Live = VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk;

    /// <summary>Full initialisation with queue 0 on the <see cref="RingLayout"/> addresses.</summary>
    public static void BringUp(this VirtioMmioTransport t, RingLayout ring, ulong features)
    {
        Assert.True(t.Negotiate(features));
        t.SetupQueue(0, ring.Size, RingLayout.DescTable, RingLayout.AvailRing, RingLayout.UsedRing);
        t.Write32(Status, Live);
    }
}
