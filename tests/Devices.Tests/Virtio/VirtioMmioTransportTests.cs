using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.MmioDriver;

namespace Csvmm.Devices.Tests.Virtio;

public sealed class VirtioMmioTransportTests : IDisposable
{
    private const ulong Features = VirtioFeatures.Version1 | VirtioFeatures.EventIdx;

    private readonly RingLayout _ring = new();
    private readonly FakeVirtioDevice _device = new();
    private readonly TestInterruptLine _irq = new();
    private readonly VirtioMmioTransport _t;

    public VirtioMmioTransportTests() => _t = new VirtioMmioTransport(_device, _ring.Memory, _irq);

    public void Dispose()
    {
        _t.Dispose();
        _ring.Dispose();
    }

    [Fact]
    public void Identification_registers_read_magic_version_and_device_id()
    {
        Assert.Equal(0x74726976u, _t.Read32(0x000));
        Assert.Equal(2u, _t.Read32(0x004));
        Assert.Equal(42u, _t.Read32(0x008));
    }

    [Fact]
    public void Device_features_always_include_version_1()
    {
        var t = new VirtioMmioTransport(new FakeVirtioDevice(offered: VirtioFeatures.EventIdx), _ring.Memory, _irq);
        Assert.Equal(VirtioFeatures.Version1 | VirtioFeatures.EventIdx, t.ReadDeviceFeatures());
        t.Dispose();
    }

    [Fact]
    public void Status_walks_to_driver_ok_and_activates_the_device()
    {
        _t.BringUp(_ring, Features);
        Assert.Equal(Live, _t.Read32(Status));
        Assert.Equal(1, _device.Activations);
        Assert.Equal(Features, _device.ActivatedFeatures);
        Assert.True(_t.Queues[0].IsActive);
        Assert.False(_t.Queues[1].IsActive); // never made ready
        Assert.True(_t.IsActivated);
    }

    [Fact]
    public void Runtime_accesses_count_only_once_driver_ok_is_set()
    {
        _t.BringUp(_ring, Features);
        Assert.Equal(0, _t.Counters.RuntimeMmioExits.Value); // probing and the DRIVER_OK write itself
        _t.Read32(InterruptStatus);
        _t.Write32(InterruptAck, 1);
        _t.Read32(Config);
        Assert.Equal(3, _t.Counters.RuntimeMmioExits.Value);
    }

    [Fact]
    public void Unoffered_feature_bits_refuse_features_ok()
    {
        Assert.False(_t.Negotiate(Features | VirtioFeatures.IndirectDesc));
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver, _t.Read32(Status));
    }

    [Fact]
    public void Version_1_is_required_for_features_ok()
    {
        Assert.False(_t.Negotiate(VirtioFeatures.EventIdx));
    }

    [Fact]
    public void Driver_ok_without_features_ok_is_not_latched()
    {
        _t.Write32(Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        _t.Write32(Status, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.DriverOk);
        Assert.Equal(0u, _t.Read32(Status) & VirtioStatus.DriverOk);
        Assert.Equal(0, _device.Activations);
    }

    [Fact]
    public void Queue_registers_are_refused_before_features_ok()
    {
        _t.Write32(Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        _t.Write32(QueueSel, 0);
        _t.Write32(QueueNum, 4);
        _t.Write32(QueueDescLow, 0x1000);
        Assert.Equal(16, _t.Core.QueueSize(0));
        Assert.Equal(0UL, _t.Core.QueueAddress(0, QueueArea.DescriptorTable));
    }

    [Fact]
    public void Queue_setup_is_refused_after_driver_ok()
    {
        _t.BringUp(_ring, Features);
        _t.Write32(QueueSel, 1);
        _t.Write32(QueueNum, 4);
        _t.Write32(QueueDescLow, 0x5000);
        _t.Write32(QueueReady, 1);
        Assert.Equal(8, _t.Core.QueueSize(1));
        Assert.Equal(0UL, _t.Core.QueueAddress(1, QueueArea.DescriptorTable));
        Assert.Equal(0u, _t.Read32(QueueReady));
    }

    [Fact]
    public void Queue_configuration_is_refused_while_queue_ready_is_set()
    {
        Assert.True(_t.Negotiate(Features));
        _t.SetupQueue(0, 8, 0x1000, 0x2000, 0x3000);
        _t.Write32(QueueNum, 4);
        _t.Write32(QueueDescLow, 0x9000);
        Assert.Equal(8, _t.Core.QueueSize(0));
        Assert.Equal(0x1000UL, _t.Core.QueueAddress(0, QueueArea.DescriptorTable));
    }

    [Fact]
    public void Queue_num_max_is_zero_for_missing_queues()
    {
        _t.Write32(QueueSel, 0);
        Assert.Equal(16u, _t.Read32(QueueNumMax));
        _t.Write32(QueueSel, 1);
        Assert.Equal(8u, _t.Read32(QueueNumMax));
        _t.Write32(QueueSel, 2);
        Assert.Equal(0u, _t.Read32(QueueNumMax));
    }

    [Fact]
    public void Reset_clears_queues_features_and_interrupt_status()
    {
        _t.BringUp(_ring, Features);
        _device.Interrupt!.NotifyConfigChanged();
        Assert.NotEqual(0u, _t.Read32(InterruptStatus));
        int resetsBefore = _device.Resets;

        _t.Write32(Status, 0);

        Assert.Equal(0u, _t.Read32(Status));
        Assert.Equal(0u, _t.Read32(InterruptStatus));
        Assert.Equal(resetsBefore + 1, _device.Resets);
        Assert.False(_t.IsActivated);
        Assert.Empty(_t.Queues);
        Assert.False(_t.Core.QueueReady(0));
        Assert.Equal(0UL, _t.NegotiatedFeatures);
        _t.Write32(QueueSel, 0);
        Assert.Equal(0u, _t.Read32(QueueReady));
    }

    [Fact]
    public void Reset_drops_kicks_that_were_pending()
    {
        _t.BringUp(_ring, Features);
        _t.Write32(QueueNotify, 0);
        _t.Write32(Status, 0);
        Assert.Equal(0UL, _t.QueueEvent(0).Drain());
    }

    [Fact]
    public void Interrupt_ack_clears_only_the_written_bits()
    {
        _t.BringUp(_ring, Features);
        _device.Interrupt!.NotifyConfigChanged();
        _ring.SetDescriptor(0, RingLayout.DataArea, 1, RingLayout.Write);
        _ring.Publish(0);
        var chain = new DescriptorChain(16);
        _t.Queues[0].TryPopChain(chain);
        _t.Queues[0].AddUsed(0, 1);
        _device.Interrupt.NotifyUsed(0);
        Assert.Equal(3u, _t.Read32(InterruptStatus));
        Assert.Equal(2, _irq.Count);

        _t.Write32(InterruptAck, 1);
        Assert.Equal(2u, _t.Read32(InterruptStatus));
        _t.Write32(InterruptAck, 2);
        Assert.Equal(0u, _t.Read32(InterruptStatus));
    }

    [Fact]
    public void Used_notification_sets_status_bit_0_and_counts_the_interrupt()
    {
        _t.BringUp(_ring, Features);
        _ring.SetDescriptor(0, RingLayout.DataArea, 1, RingLayout.Write);
        _ring.Publish(0);
        var chain = new DescriptorChain(16);
        _t.Queues[0].TryPopChain(chain);
        _t.Queues[0].AddUsed(0, 1);
        _device.Interrupt!.NotifyUsed(0);
        Assert.Equal(1u, _t.Read32(InterruptStatus));
        Assert.Equal(1, _irq.Count);
        Assert.Equal(1, _t.Queues[0].Counters.Interrupts.Value);
    }

    [Fact]
    public void Config_generation_changes_when_config_changes()
    {
        _t.BringUp(_ring, Features);
        uint before = _t.Read32(ConfigGeneration);
        Assert.Equal(before, _t.Read32(ConfigGeneration));
        _device.Interrupt!.NotifyConfigChanged();
        Assert.NotEqual(before, _t.Read32(ConfigGeneration));
        Assert.Equal(2u, _t.Read32(InterruptStatus) & 2);
    }

    [Fact]
    public void Config_space_is_readable_with_1_2_and_4_byte_accesses()
    {
        Span<byte> b1 = stackalloc byte[1];
        Span<byte> b2 = stackalloc byte[2];
        _t.Read(Config + 3, b1);
        Assert.Equal(4, b1[0]);
        _t.Read(Config + 1, b2);
        Assert.Equal(new byte[] { 2, 3 }, b2.ToArray());
        Assert.Equal(0x08070605u, _t.Read32(Config + 4));
    }

    [Fact]
    public void Queue_notify_signals_that_queues_eventfd()
    {
        _t.Write32(QueueNotify, 1);
        Assert.Equal(0UL, _t.QueueEvent(0).Drain());
        Assert.Equal(1UL, _t.QueueEvent(1).Drain());
        _t.Write32(QueueNotify, 7); // no such queue: ignored
        Assert.Equal(1, _t.Counters.InvalidRegisterAccesses.Value);
    }

    [Fact]
    public void Misaligned_or_narrow_register_accesses_are_ignored_and_reads_zero_filled()
    {
        Span<byte> two = [0xEE, 0xEE];
        _t.Read(0x000, two);
        Assert.Equal(new byte[] { 0, 0 }, two.ToArray());
        Span<byte> four = [0xEE, 0xEE, 0xEE, 0xEE];
        _t.Read(0x002, four);
        Assert.Equal(new byte[4], four.ToArray());
        _t.Write(Status, new byte[] { 1 });
        Assert.Equal(0u, _t.Read32(Status));
        Assert.Equal(3, _t.Counters.InvalidRegisterAccesses.Value);
    }

    [Fact]
    public void Invalid_ring_at_driver_ok_sets_device_needs_reset_with_a_config_interrupt()
    {
        Assert.True(_t.Negotiate(Features));
        _t.SetupQueue(0, 16, 0x1008, RingLayout.AvailRing, RingLayout.UsedRing); // misaligned table
        _t.Write32(Status, Live);
        Assert.Equal(Live | VirtioStatus.DeviceNeedsReset, _t.Read32(Status));
        Assert.Equal(0, _device.Activations);
        Assert.Equal(2u, _t.Read32(InterruptStatus));
        Assert.Equal(1, _irq.Count);
    }

    [Fact]
    public void Corrupt_ring_during_processing_sets_device_needs_reset()
    {
        _t.BringUp(_ring, Features);
        _device.OnProcess = q => _device.Queues![q].TryPopChain(new DescriptorChain(16));
        _ring.AvailIdx = 100;
        _t.ProcessQueue(0);
        Assert.NotEqual(0u, _t.Read32(Status) & VirtioStatus.DeviceNeedsReset);
        Assert.Equal(2u, _t.Read32(InterruptStatus));

        // No more processing until the driver resets.
        _t.ProcessQueue(0);
        Assert.Single(_device.Processed);

        _t.BringUp(_ring, Features);
        Assert.Equal(Live, _t.Read32(Status));
    }

    [Fact]
    public void Device_exception_sets_needs_reset_instead_of_escaping()
    {
        _t.BringUp(_ring, Features);
        _device.OnProcess = _ => throw new InvalidOperationException("boom");
        _t.ProcessQueue(0);
        Assert.NotEqual(0u, _t.Read32(Status) & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void Driver_cannot_set_or_clear_device_needs_reset()
    {
        _t.BringUp(_ring, Features);
        _t.Write32(Status, Live | VirtioStatus.DeviceNeedsReset);
        Assert.Equal(Live, _t.Read32(Status));
    }

    [Fact]
    public void Queues_are_not_processed_before_driver_ok()
    {
        Assert.True(_t.Negotiate(Features));
        _t.SetupQueue(0, 16, RingLayout.DescTable, RingLayout.AvailRing, RingLayout.UsedRing);
        _t.ProcessQueue(0);
        Assert.Empty(_device.Processed);
    }
}
