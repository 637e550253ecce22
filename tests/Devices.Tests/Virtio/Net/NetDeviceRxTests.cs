using Csvmm.Devices.Virtio;
using Csvmm.Kvm;
using Csvmm.Host.Native;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Net.NetHarness;
using static Csvmm.Devices.Virtio.Net.NetProtocol;

namespace Csvmm.Devices.Tests.Virtio.Net;

public class NetDeviceRxTests
{
    private const ulong Mergeable = DefaultFeatures | FeatureMrgRxbuf;

    [Fact]
    public void Rx_frame_lands_in_one_buffer_with_its_header_and_num_buffers_set_to_one()
    {
        using var h = new NetHarness();
        var frame = FrameWithHeader(200, numBuffers: 0xBEEF);
        h.Backend.Enqueue(frame);
        ushort head = h.Rx.Add((Data, 1526, true));

        h.KickRx();

        Assert.Equal((head, (uint)frame.Length), h.Rx.UsedElement(0));
        Assert.Equal(1, h.U16(Data + HeaderNumBuffers));
        Assert.Equal(frame.AsSpan(0, HeaderNumBuffers).ToArray(), h.Bytes(Data, HeaderNumBuffers));
        Assert.Equal(frame.AsSpan(HeaderSize).ToArray(), h.Bytes(Data + HeaderSize, 200));
        Assert.Equal(1, h.Counters.RxFrames.Value);
        Assert.Equal(200, h.Counters.RxBytes.Value);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Rx_frame_fills_a_header_descriptor_then_page_buffers_without_mergeable_buffers()
    {
        using var h = new NetHarness();
        var frame = FrameWithHeader(6000);
        h.Backend.Enqueue(frame);
        h.Rx.Add((Data, HeaderSize, true), (Data + 0x1000, 4096, true), (Data + 0x3000, 4096, true));

        h.KickRx();

        Assert.Equal((uint)frame.Length, h.Rx.UsedElement(0).Len);
        Assert.Equal(1, h.U16(Data + HeaderNumBuffers));
        Assert.Equal(frame.AsSpan(HeaderSize, 4096).ToArray(), h.Bytes(Data + 0x1000, 4096));
        Assert.Equal(frame.AsSpan(HeaderSize + 4096).ToArray(), h.Bytes(Data + 0x3000, 6000 - 4096));
    }

    [Fact]
    public void Rx_frame_spans_several_mergeable_buffers_and_the_first_header_counts_them()
    {
        using var h = new NetHarness(Mergeable);
        var frame = FrameWithHeader(4000);
        h.Backend.Enqueue(frame);
        ushort a = h.Rx.Add((Data, 1526, true));
        ushort b = h.Rx.Add((Data + 0x1000, 1526, true));
        ushort c = h.Rx.Add((Data + 0x2000, 1526, true));
        h.Rx.Add((Data + 0x3000, 1526, true));

        h.KickRx();

        Assert.Equal(3, h.Rx.UsedIdx);
        Assert.Equal((a, 1526u), h.Rx.UsedElement(0));
        Assert.Equal((b, 1526u), h.Rx.UsedElement(1));
        Assert.Equal((c, (uint)(frame.Length - 2 * 1526)), h.Rx.UsedElement(2));
        Assert.Equal(3, h.U16(Data + HeaderNumBuffers));
        var got = h.Bytes(Data, 1526).Concat(h.Bytes(Data + 0x1000, 1526)).Concat(h.Bytes(Data + 0x2000, frame.Length - 3052)).ToArray();
        Assert.Equal(frame.AsSpan(HeaderSize).ToArray(), got.AsSpan(HeaderSize).ToArray());
        Assert.Equal(1, h.Counters.RxFrames.Value);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Mergeable_frame_that_fits_one_buffer_uses_one_buffer()
    {
        using var h = new NetHarness(Mergeable);
        h.Backend.Enqueue(FrameWithHeader(100));
        h.Backend.Enqueue(FrameWithHeader(100, seed: 9));
        h.Rx.Add((Data, 1526, true));
        h.Rx.Add((Data + 0x1000, 1526, true));

        h.KickRx();

        Assert.Equal(2, h.Rx.UsedIdx);
        Assert.Equal(1, h.U16(Data + HeaderNumBuffers));
        Assert.Equal(1, h.U16(Data + 0x1000 + HeaderNumBuffers));
        Assert.Equal(2, h.Counters.RxFrames.Value);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Rx_frame_larger_than_the_buffer_is_dropped_counted_and_the_chain_returned_empty()
    {
        using var h = new NetHarness();
        h.Backend.Enqueue(FrameWithHeader(3000));
        h.Backend.Enqueue(FrameWithHeader(500, seed: 7));
        ushort first = h.Rx.Add((Data, 1526, true));
        ushort second = h.Rx.Add((Data + 0x1000, 1526, true));

        h.KickRx();

        Assert.Equal((first, 0u), h.Rx.UsedElement(0));
        Assert.Equal((second, (uint)(HeaderSize + 500)), h.Rx.UsedElement(1));
        Assert.Equal(1, h.Counters.RxDropsTooBig.Value);
        Assert.Equal(1, h.Counters.RxFrames.Value);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mergeable_frame_cut_short_by_the_backend_is_dropped_not_delivered(bool reportCopiedLength)
    {
        using var h = new NetHarness(Mergeable);
        h.Backend.ReportCopiedLength = reportCopiedLength;
        h.Backend.Enqueue(FrameWithHeader(70000)); // beyond the first buffer plus the 64 KiB overflow
        ushort head = h.Rx.Add((Data, 1526, true));
        h.Rx.Add((Data + 0x1000, 0x80000, true));

        h.KickRx();

        Assert.Equal(1, h.Rx.UsedIdx);
        Assert.Equal((head, 0u), h.Rx.UsedElement(0));
        Assert.Equal(1, h.Counters.RxDropsTooBig.Value);
        Assert.Equal(0, h.Counters.RxFrames.Value);
    }

    [Fact]
    public void Without_rx_buffers_the_backend_is_not_read()
    {
        using var h = new NetHarness();
        h.Backend.Enqueue(FrameWithHeader(100));

        h.WakeRx();

        Assert.Equal(0, h.Backend.Reads);
        Assert.Single(h.Backend.Incoming);
        Assert.Equal(1, h.Counters.RxWaitsForBuffers.Value);
        Assert.Equal(0, h.Irq.Count);
    }

    [Fact]
    public void Waiting_frame_is_delivered_when_the_driver_adds_buffers_and_kicks()
    {
        using var h = new NetHarness();
        var frame = FrameWithHeader(100);
        h.Backend.Enqueue(frame);
        h.WakeRx();

        h.Rx.Add((Data, 1526, true));
        h.KickRx();

        Assert.Equal((uint)frame.Length, h.Rx.UsedElement(0).Len);
        Assert.Equal(frame.AsSpan(HeaderSize).ToArray(), h.Bytes(Data + HeaderSize, 100));
    }

    [Fact]
    public void Mergeable_frame_already_read_waits_for_more_buffers_and_is_not_lost()
    {
        using var h = new NetHarness(Mergeable);
        var frame = FrameWithHeader(4000);
        h.Backend.Enqueue(frame);
        h.Rx.Add((Data, 1526, true));
        h.Rx.Add((Data + 0x1000, 1526, true));

        h.KickRx();
        Assert.Equal(0, h.Rx.UsedIdx); // nothing published for a partial frame
        Assert.Empty(h.Backend.Incoming);
        Assert.Equal(1, h.Counters.RxWaitsForBuffers.Value);

        h.Rx.Add((Data + 0x2000, 1526, true));
        h.KickRx();

        Assert.Equal(3, h.Rx.UsedIdx);
        Assert.Equal(3, h.U16(Data + HeaderNumBuffers));
        Assert.Equal(frame.AsSpan(HeaderSize + 3052 - HeaderSize).ToArray(), h.Bytes(Data + 0x2000, frame.Length - 3052));
        Assert.Equal(1, h.Counters.RxFrames.Value);
        Assert.Equal(0, h.Counters.RxDropsNoBuffer.Value + h.Counters.RxDropsTooBig.Value);
    }

    [Fact]
    public void With_event_idx_waiting_for_rx_buffers_publishes_avail_event()
    {
        using var h = new NetHarness(DefaultFeatures | VirtioFeatures.EventIdx);
        h.Backend.Enqueue(FrameWithHeader(100));
        h.Backend.Enqueue(FrameWithHeader(100));
        h.Rx.Add((Data, 1526, true));

        h.KickRx();

        Assert.Equal(1, h.Rx.UsedIdx);
        Assert.Equal(1, h.Rx.AvailEvent); // kick me for the next buffer
        Assert.Single(h.Backend.Incoming);
    }

    [Fact]
    public void Empty_backend_is_not_read_again_until_it_signals_readable()
    {
        using var h = new NetHarness();
        h.Rx.Add((Data, 1526, true));
        h.KickRx();
        Assert.Equal(1, h.Backend.Reads);

        h.Backend.Enqueue(FrameWithHeader(100));
        h.KickRx(); // a kick alone does not poll an empty TAP
        Assert.Equal(1, h.Backend.Reads);

        h.WakeRx();
        Assert.Equal(1, h.Rx.UsedIdx);
        Assert.Equal(1, h.Counters.RxFrames.Value);
    }

    [Fact]
    public void Rx_batch_of_frames_raises_one_interrupt()
    {
        using var h = new NetHarness();
        for (int i = 0; i < 4; i++)
        {
            h.Backend.Enqueue(FrameWithHeader(64, seed: (byte)i));
            h.Rx.Add((Data + (ulong)i * 0x1000, 1526, true));
        }
        h.KickRx();
        Assert.Equal(4, h.Rx.UsedIdx);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Backend_fd_watched_by_the_device_thread_delivers_frames()
    {
        using var h = new NetHarness();
        using var loop = new VirtioDeviceWorker(h.Transport.Core, "net-test", null, (_, e) => throw e);
        h.Rx.Add((Data, 1526, true));
        h.KickRx(); // backend empty: reads once, then waits for the fd

        h.Backend.Enqueue(FrameWithHeader(100));
        h.Backend.Event.Signal();
        Assert.Equal(1, loop.RunOnce(1000));

        Assert.Equal(1, h.Rx.UsedIdx);
        Assert.Equal(1, h.Counters.BackendWakeups.Value);
    }

    [Fact]
    public void Rx_chain_with_a_readable_buffer_is_refused_and_the_frame_goes_to_the_next_chain()
    {
        using var h = new NetHarness();
        h.Backend.Enqueue(FrameWithHeader(100));
        ushort bad = h.Rx.Add((Data, 64, false), (Data + 0x100, 1526, true));
        ushort good = h.Rx.Add((Data + 0x1000, 1526, true));

        h.KickRx();

        Assert.Equal((bad, 0u), h.Rx.UsedElement(0));
        Assert.Equal((good, (uint)(HeaderSize + 100)), h.Rx.UsedElement(1));
        Assert.Equal(1, h.Counters.RxBadChains.Value);
        Assert.Equal(1, h.Counters.RxFrames.Value);
    }

    [Fact]
    public void Rx_chain_with_less_than_a_header_of_space_is_refused()
    {
        using var h = new NetHarness();
        h.Backend.Enqueue(FrameWithHeader(100));
        h.Rx.Add((Data, HeaderSize - 1, true));
        h.KickRx();
        Assert.Equal((0u, 0u), h.Rx.UsedElement(0));
        Assert.Equal(1, h.Counters.RxBadChains.Value);
        Assert.Equal(0, h.Backend.Reads);
    }

    [Fact]
    public void Rx_buffer_outside_guest_memory_is_refused_and_the_device_keeps_working()
    {
        using var h = new NetHarness();
        h.Backend.Enqueue(FrameWithHeader(100));
        h.Rx.Add((MemorySize - 100, 1526, true));
        h.Rx.Add((Data, 1526, true));

        h.KickRx();

        Assert.Equal(2, h.Rx.UsedIdx);
        Assert.Equal(0u, h.Rx.UsedElement(0).Len);
        Assert.Equal((uint)(HeaderSize + 100), h.Rx.UsedElement(1).Len);
        Assert.Equal(1, h.Counters.RxBadChains.Value);
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void Rx_backend_error_is_counted_and_reading_stops_until_the_next_wakeup()
    {
        using var h = new NetHarness();
        h.Backend.ReadError = Errno.EIO;
        h.Rx.Add((Data, 1526, true));
        h.KickRx();
        Assert.Equal(1, h.Counters.RxBackendErrors.Value);
        Assert.Equal(1, h.Backend.Reads);

        h.Backend.ReadError = 0;
        h.Backend.Enqueue(FrameWithHeader(100));
        h.WakeRx();
        Assert.Equal(1, h.Rx.UsedIdx);
        Assert.Equal((uint)(HeaderSize + 100), h.Rx.UsedElement(0).Len);
    }

    [Fact]
    public void Mergeable_frame_larger_than_the_whole_ring_is_dropped_and_every_buffer_returned()
    {
        using var h = new NetHarness(Mergeable);
        h.Backend.Enqueue(FrameWithHeader(4000));
        h.Backend.Enqueue(FrameWithHeader(50));
        for (int i = 0; i < RingSize; i++) h.Rx.Add((Data + (ulong)i * 0x100, 100, true));

        h.KickRx();

        Assert.Equal(RingSize, h.Rx.UsedIdx);
        for (ushort i = 0; i < RingSize; i++) Assert.Equal(0u, h.Rx.UsedElement(i).Len);
        Assert.Equal(1, h.Counters.RxDropsNoBuffer.Value);

        h.Rx.Add((Data, 100, true));
        h.KickRx();
        Assert.Equal((uint)(HeaderSize + 50), h.Rx.UsedElement(RingSize).Len);
    }

    [Fact]
    public void Reset_with_a_deferred_frame_counts_it_as_dropped()
    {
        using var h = new NetHarness(Mergeable);
        h.Backend.Enqueue(FrameWithHeader(4000));
        h.Rx.Add((Data, 1526, true));
        h.KickRx();

        h.Transport.Write32(MmioDriver.Status, 0);

        Assert.Equal(1, h.Counters.RxDropsNoBuffer.Value);
        Assert.False(h.Transport.IsActivated);
    }
}
