using Csvmm.Host.Memory;
using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Kvm;
using Xunit;
using static Csvmm.Devices.Virtio.Net.NetProtocol;

namespace Csvmm.Devices.Tests.Virtio.Net;

/// <summary>A net device on a fake backend behind a live transport, with both queues laid out in guest memory.</summary>
public sealed class NetHarness : IDisposable
{
    public const int MemorySize = 0x200000;
    public const ushort RingSize = 16;
    public const ulong Data = 0x10000;

    public const ulong DefaultFeatures = VirtioFeatures.Version1 | FeatureMac | FeatureStatus | FeatureMtu;

    public static readonly MacAddress TestMac = MacAddress.FromName("tap-test");

    public NetHarness(ulong features = DefaultFeatures)
    {
        Memory = new byte[MemorySize];
        Guest = GuestMemory.FromArray(Memory);
        Backend = new FakeNetBackend();
        Device = new NetDevice(Backend, TestMac);
        Irq = new TestInterruptLine();
        Transport = new VirtioMmioTransport(Device, Guest, Irq);
        Rx = new DriverQueue(Memory, 0x1000, 0x2000, 0x3000, RingSize);
        Tx = new DriverQueue(Memory, 0x4000, 0x5000, 0x6000, RingSize);
        Assert.True(Transport.Negotiate(features));
        Transport.SetupQueue(0, RingSize, Rx.Desc, Rx.Avail, Rx.Used);
        Transport.SetupQueue(1, RingSize, Tx.Desc, Tx.Avail, Tx.Used);
        Transport.Write32(MmioDriver.Status, MmioDriver.Live);
        Assert.True(Transport.IsActivated);
    }

    public byte[] Memory { get; }
    public GuestMemory Guest { get; }
    public FakeNetBackend Backend { get; }
    public NetDevice Device { get; }
    public TestInterruptLine Irq { get; }
    public VirtioMmioTransport Transport { get; }
    public DriverQueue Rx { get; }
    public DriverQueue Tx { get; }
    public NetCounters Counters => Device.Counters;

    public void KickRx() => Transport.ProcessQueue(RxQueue);

    public void KickTx() => Transport.ProcessQueue(TxQueue);

    /// <summary>The TAP fd became readable.</summary>
    public void WakeRx()
    {
        Device.OnBackendReadable();
        Transport.ProcessQueue(RxQueue);
    }

    /// <summary>A 12-byte header with recognisable offload fields and the given num_buffers bytes, then the frame.</summary>
    public static byte[] FrameWithHeader(int frameLength, byte seed = 1, ushort numBuffers = 0xBEEF)
    {
        var f = new byte[HeaderSize + frameLength];
        f[0] = 1; // NEEDS_CSUM
        f[1] = 1; // GSO TCPV4
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(2), 54);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(4), 1448);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(6), 34);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(8), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(10), numBuffers);
        for (int i = 0; i < frameLength; i++) f[HeaderSize + i] = (byte)(seed + i * 13 + (i >> 8));
        return f;
    }

    public byte[] Bytes(ulong gpa, int length) => Memory.AsSpan((int)gpa, length).ToArray();

    public ushort U16(ulong gpa) => BinaryPrimitives.ReadUInt16LittleEndian(Memory.AsSpan((int)gpa));

    public void Put(ulong gpa, byte[] bytes) => bytes.CopyTo(Memory.AsSpan((int)gpa));

    public void Dispose()
    {
        Transport.Dispose();
        Guest.Dispose();
        Backend.Dispose();
    }
}
