using Csvmm.Devices.Virtio;
using Csvmm.Host.Native;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Net.NetHarness;
using static Csvmm.Devices.Virtio.Net.NetProtocol;

namespace Csvmm.Devices.Tests.Virtio.Net;

public class NetDeviceTxTests
{
    [Fact]
    public void Tx_chain_is_written_to_the_backend_in_one_write_with_its_header_unchanged()
    {
        using var h = new NetHarness();
        var frame = FrameWithHeader(100, numBuffers: 0);
        h.Put(Data, frame.AsSpan(0, HeaderSize).ToArray());
        h.Put(Data + 0x1000, frame.AsSpan(HeaderSize).ToArray());
        ushort head = h.Tx.Add((Data, HeaderSize, false), (Data + 0x1000, 100, false));

        h.KickTx();

        Assert.Equal(frame, Assert.Single(h.Backend.Written));
        Assert.Equal((head, 0u), h.Tx.UsedElement(0));
        Assert.Equal(1, h.Counters.TxFrames.Value);
        Assert.Equal(100, h.Counters.TxBytes.Value);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Several_tx_chains_in_one_notification_raise_one_interrupt()
    {
        using var h = new NetHarness();
        for (int i = 0; i < 3; i++)
        {
            h.Put(Data + (ulong)i * 0x1000, FrameWithHeader(60, seed: (byte)i, numBuffers: 0));
            h.Tx.Add((Data + (ulong)i * 0x1000, HeaderSize + 60, false));
        }

        h.KickTx();

        Assert.Equal(3, h.Backend.Written.Count);
        Assert.Equal(3, h.Tx.UsedIdx);
        Assert.Equal(1, h.Irq.Count);
        Assert.Equal(1, h.Transport.Queues[TxQueue].Counters.Interrupts.Value);
    }

    [Fact]
    public void With_event_idx_tx_interrupts_only_when_used_event_is_passed_and_avail_event_is_published()
    {
        using var h = new NetHarness(DefaultFeatures | VirtioFeatures.EventIdx);
        h.Put(Data, FrameWithHeader(60, numBuffers: 0));
        h.Tx.Add((Data, HeaderSize + 60, false));
        h.KickTx();
        Assert.Equal(1, h.Irq.Count);
        Assert.Equal(1, h.Tx.AvailEvent);

        h.Tx.UsedEvent = 10; // "interrupt me once used.idx passes 10"
        h.Tx.Add((Data, HeaderSize + 60, false));
        h.Tx.Add((Data, HeaderSize + 60, false));
        h.KickTx();
        Assert.Equal(3, h.Tx.UsedIdx);
        Assert.Equal(1, h.Irq.Count);
        Assert.Equal(3, h.Tx.AvailEvent);
    }

    [Fact]
    public void Tx_chain_with_a_writable_buffer_is_refused_and_the_queue_keeps_working()
    {
        using var h = new NetHarness();
        h.Put(Data, FrameWithHeader(60, numBuffers: 0));
        ushort bad = h.Tx.Add((Data, HeaderSize + 60, false), (Data + 0x1000, 100, true));
        ushort good = h.Tx.Add((Data, HeaderSize + 60, false));

        h.KickTx();

        Assert.Single(h.Backend.Written);
        Assert.Equal((bad, 0u), h.Tx.UsedElement(0));
        Assert.Equal((good, 0u), h.Tx.UsedElement(1));
        Assert.Equal(1, h.Counters.TxBadChains.Value);
        Assert.Equal(1, h.Counters.TxFrames.Value);
    }

    [Fact]
    public void Tx_chain_shorter_than_the_header_is_refused()
    {
        using var h = new NetHarness();
        h.Tx.Add((Data, HeaderSize - 1, false));
        h.KickTx();
        Assert.Empty(h.Backend.Written);
        Assert.Equal(1, h.Tx.UsedIdx);
        Assert.Equal(1, h.Counters.TxBadChains.Value);
    }

    [Fact]
    public void Tx_buffer_outside_guest_memory_is_refused()
    {
        using var h = new NetHarness();
        h.Tx.Add((MemorySize - 8, 100, false));
        h.Tx.Add((ulong.MaxValue - 10, 100, false));
        h.KickTx();
        Assert.Empty(h.Backend.Written);
        Assert.Equal(2, h.Tx.UsedIdx);
        Assert.Equal(2, h.Counters.TxBadChains.Value);
        Assert.Equal(2, h.Transport.Queues[TxQueue].Counters.BadChains.Value);
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
    }

    [Fact]
    public void Tx_frame_the_backend_refuses_is_counted_and_the_chain_still_completes()
    {
        using var h = new NetHarness();
        h.Backend.WriteError = Errno.EIO;
        h.Put(Data, FrameWithHeader(60, numBuffers: 0));
        h.Tx.Add((Data, HeaderSize + 60, false));
        h.KickTx();
        Assert.Equal(1, h.Tx.UsedIdx);
        Assert.Equal(1, h.Counters.TxBackendErrors.Value);
        Assert.Equal(0, h.Counters.TxFrames.Value);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Tx_frame_larger_than_a_tap_takes_is_dropped()
    {
        using var h = new NetHarness();
        h.Tx.Add((Data, HeaderSize + MaxFrameSize + 1, false));
        h.KickTx();
        Assert.Empty(h.Backend.Written);
        Assert.Equal(1, h.Tx.UsedIdx);
        Assert.Equal(1, h.Counters.TxDropsTooBig.Value);
    }
}
