using Csvmm.Host.Memory;
using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Kvm;
using Csvmm.Host.Native;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Net.NetHarness;
using static Csvmm.Devices.Virtio.Net.NetProtocol;

namespace Csvmm.Devices.Tests.Virtio.Net;

public class NetDeviceSetupTests
{
    [Fact]
    public void Device_is_type_one_with_receive_and_transmit_queues_only()
    {
        using var backend = new FakeNetBackend();
        var d = new NetDevice(backend, TestMac);
        Assert.Equal(1u, d.DeviceType);
        Assert.Equal(2, d.QueueMaxSizes.Length);
    }

    [Fact]
    public void Offered_features_are_the_implemented_set_without_control_queue_or_multiqueue()
    {
        using var backend = new FakeNetBackend();
        ulong f = new NetDevice(backend, TestMac).OfferedFeatures;
        ulong expected = VirtioFeatures.Version1 | VirtioFeatures.IndirectDesc | VirtioFeatures.EventIdx
            | FeatureMac | FeatureStatus | FeatureMtu | FeatureMrgRxbuf | FeatureCsum | FeatureGuestCsum
            | FeatureGuestTso4 | FeatureGuestTso6 | FeatureHostTso4 | FeatureHostTso6;
        Assert.Equal(expected, f);
        Assert.Equal(0UL, f & ((1UL << 17) | (1UL << 22))); // CTRL_VQ, MQ
    }

    [Fact]
    public void Config_space_holds_mac_link_up_and_mtu()
    {
        using var h = new NetHarness();
        var mac = new byte[6];
        TestMac.CopyTo(mac);
        Span<byte> b = stackalloc byte[ConfigSize];
        h.Device.ReadConfig(0, b);
        Assert.Equal(mac, b[..6].ToArray());
        Assert.Equal(StatusLinkUp, BinaryPrimitives.ReadUInt16LittleEndian(b[ConfigStatus..]));
        Assert.Equal(1500, BinaryPrimitives.ReadUInt16LittleEndian(b[ConfigMtu..]));
        Span<byte> beyond = stackalloc byte[4];
        beyond.Fill(0xAA);
        h.Device.ReadConfig(ConfigSize, beyond);
        Assert.Equal(new byte[4], beyond.ToArray());
    }

    [Fact]
    public void Config_write_from_the_driver_does_not_change_the_mac()
    {
        using var h = new NetHarness();
        h.Transport.Write32(MmioDriver.Config, 0xFFFFFFFF);
        Span<byte> b = stackalloc byte[6];
        h.Device.ReadConfig(0, b);
        var mac = new byte[6];
        TestMac.CopyTo(mac);
        Assert.Equal(mac, b.ToArray());
    }

    [Theory]
    [InlineData(0UL, 0u)]
    [InlineData(FeatureGuestCsum, TapDevice.OffloadCsum)]
    [InlineData(FeatureGuestCsum | FeatureGuestTso4, TapDevice.OffloadCsum | TapDevice.OffloadTso4)]
    [InlineData(FeatureGuestCsum | FeatureGuestTso4 | FeatureGuestTso6, TapDevice.OffloadCsum | TapDevice.OffloadTso4 | TapDevice.OffloadTso6)]
    [InlineData(FeatureGuestTso4 | FeatureGuestTso6, 0u)] // TSO without checksum offload: the TAP refuses it
    [InlineData(FeatureCsum | FeatureHostTso4 | FeatureHostTso6, 0u)] // host-side offloads say nothing about RX
    public void Negotiated_guest_offloads_map_to_tun_offload_flags(ulong features, uint expected) =>
        Assert.Equal(expected, NetDevice.OffloadFlags(features));

    [Fact]
    public void Activation_sets_the_tap_offloads_the_driver_accepted()
    {
        using var h = new NetHarness(DefaultFeatures | FeatureGuestCsum | FeatureGuestTso4);
        Assert.Equal([TapDevice.OffloadCsum | TapDevice.OffloadTso4], h.Backend.OffloadCalls);
    }

    [Fact]
    public void Activation_falls_back_to_no_offloads_when_the_tap_refuses_them()
    {
        var backend = new FakeNetBackend { OffloadError = Errno.EINVAL };
        using var memory = GuestMemory.FromArray(new byte[MemorySize]);
        var device = new NetDevice(backend, TestMac);
        using var t = new VirtioMmioTransport(device, memory, new TestInterruptLine());
        Assert.True(t.Negotiate(DefaultFeatures | FeatureGuestCsum));
        t.SetupQueue(0, RingSize, 0x1000, 0x2000, 0x3000);
        t.SetupQueue(1, RingSize, 0x4000, 0x5000, 0x6000);
        t.Write32(MmioDriver.Status, MmioDriver.Live);
        Assert.True(t.IsActivated);
        Assert.Equal([TapDevice.OffloadCsum, 0u], backend.OffloadCalls);
        backend.Dispose();
    }

    [Fact]
    public void Activation_without_the_transmit_queue_is_refused()
    {
        using var backend = new FakeNetBackend();
        using var memory = GuestMemory.FromArray(new byte[MemorySize]);
        using var t = new VirtioMmioTransport(new NetDevice(backend, TestMac), memory, new TestInterruptLine());
        Assert.True(t.Negotiate(DefaultFeatures));
        t.SetupQueue(0, RingSize, 0x1000, 0x2000, 0x3000);
        t.Write32(MmioDriver.Status, MmioDriver.Live);
        Assert.False(t.IsActivated);
        Assert.NotEqual(0u, t.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void Multicast_mac_is_refused()
    {
        using var backend = new FakeNetBackend();
        Assert.Throws<ArgumentException>(() => new NetDevice(backend, new MacAddress(0x03, 0, 0, 0, 0, 1)));
    }
}
