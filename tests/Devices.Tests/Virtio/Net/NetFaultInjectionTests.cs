using Csvmm.Devices.Virtio;
using Csvmm.Host.Native;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Net.NetHarness;
using static Csvmm.Devices.Virtio.Net.NetProtocol;

namespace Csvmm.Devices.Tests.Virtio.Net;

/// <summary>
/// A TAP that fails (errors, short writes) and transmit chains that are malformed: the frame is
/// dropped and counted, the chain still completes with used.len 0 (TX writes nothing into the
/// guest), and the device keeps working — no DEVICE_NEEDS_RESET.
/// </summary>
public class NetFaultInjectionTests
{
    private static void AssertTxStillWorks(NetHarness h)
    {
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
        var frame = FrameWithHeader(80, seed: 42, numBuffers: 0);
        h.Put(Data + 0x8000, frame);
        int written = h.Backend.Written.Count;
        h.Tx.Add((Data + 0x8000, (uint)frame.Length, false));
        h.KickTx();
        Assert.Equal(written + 1, h.Backend.Written.Count);
        Assert.Equal(frame, h.Backend.Written[^1]);
    }

    [Theory]
    [InlineData(Errno.EIO)]
    [InlineData(Errno.ENOSPC)]
    [InlineData(Errno.EAGAIN)]  // the TAP's queue is full
    [InlineData(Errno.EINVAL)]  // e.g. a header the TAP refuses
    public void Tx_backend_error_drops_the_frame_counts_it_and_completes_the_chain(int errno)
    {
        using var h = new NetHarness();
        h.Backend.WriteError = errno;
        h.Put(Data, FrameWithHeader(60, numBuffers: 0));
        ushort a = h.Tx.Add((Data, HeaderSize + 60, false));
        ushort b = h.Tx.Add((Data, HeaderSize + 60, false));
        h.KickTx();

        Assert.Equal((a, 0u), h.Tx.UsedElement(0));
        Assert.Equal((b, 0u), h.Tx.UsedElement(1));
        Assert.Equal(2, h.Counters.TxBackendErrors.Value);
        Assert.Equal(0, h.Counters.TxFrames.Value);
        Assert.Equal(0, h.Counters.TxBytes.Value);

        h.Backend.WriteError = 0;
        AssertTxStillWorks(h);
        Assert.Equal(1, h.Counters.TxFrames.Value);
    }

    [Fact]
    public void Tx_short_write_is_a_dropped_frame_not_a_sent_one()
    {
        using var h = new NetHarness();
        h.Backend.ShortWrite = 30;
        h.Put(Data, FrameWithHeader(60, numBuffers: 0));
        h.Tx.Add((Data, HeaderSize + 60, false));
        h.KickTx();

        Assert.Equal(1, h.Tx.UsedIdx);
        Assert.Equal(1, h.Counters.TxBackendErrors.Value);
        Assert.Equal(0, h.Counters.TxFrames.Value);

        h.Backend.ShortWrite = 0;
        AssertTxStillWorks(h);
    }

    [Fact]
    public void Tx_chain_with_broken_links_is_dropped_counted_and_returned_with_len_0()
    {
        // Unlike virtio-blk there is no status byte a stale value could hide in: len 0 is the
        // complete answer for a transmit chain, so even an unwalkable one is simply returned.
        using var h = new NetHarness();
        h.Tx.SetDescriptor(0, Data, HeaderSize + 60, DriverQueue.Next, 200); // next beyond the queue
        h.Tx.Publish(0);
        h.Tx.SetDescriptor(1, Data, HeaderSize + 60, DriverQueue.Next, 2);  // a loop
        h.Tx.SetDescriptor(2, Data, HeaderSize + 60, DriverQueue.Next, 1);
        h.Tx.Publish(1);
        h.KickTx();

        Assert.Equal((0u, 0u), h.Tx.UsedElement(0));
        Assert.Equal((1u, 0u), h.Tx.UsedElement(1));
        Assert.Empty(h.Backend.Written);
        Assert.Equal(2, h.Counters.TxBadChains.Value);
        Assert.Equal(2, h.Transport.Queues[TxQueue].Counters.BadChains.Value);

        // The harness's Add reuses descriptor slots from 0: the next chain overwrites the bad ones.
        AssertTxStillWorks(h);
    }

    [Theory]
    [InlineData(Errno.EIO)]
    [InlineData(77)]  // EBADFD: the TAP went away under the VM
    public void Rx_backend_error_keeps_the_held_buffer_and_the_next_frame_arrives(int errno)
    {
        using var h = new NetHarness();
        h.Backend.ReadError = errno;
        ushort head = h.Rx.Add((Data, 1526, true));
        h.KickRx();
        h.WakeRx();
        Assert.Equal(2, h.Counters.RxBackendErrors.Value);
        Assert.Equal(0, h.Rx.UsedIdx); // nothing received, the buffer stays with the device
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);

        h.Backend.ReadError = 0;
        h.Backend.Enqueue(FrameWithHeader(100));
        h.WakeRx();
        Assert.Equal((head, (uint)(HeaderSize + 100)), h.Rx.UsedElement(0));
        Assert.Equal(1, h.Counters.RxFrames.Value);
    }
}
