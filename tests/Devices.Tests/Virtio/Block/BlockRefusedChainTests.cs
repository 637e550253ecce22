using Csvmm.Devices.Virtio;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Block.BlockHarness;
using static Csvmm.Devices.Tests.Virtio.RingLayout;
using static Csvmm.Devices.Virtio.Block.BlockProtocol;

namespace Csvmm.Devices.Tests.Virtio.Block;

/// <summary>
/// Chains the queue refuses. Returning one with used.len 0 and no status written would let the
/// driver read a stale OK (Linux reuses its status byte), so: when the status byte — the last byte
/// of the last buffer, device-writable, in RAM, at the end of intact links — can be found, the
/// request fails with IOERR and len 1; when it cannot, the queue stops and the device sets
/// DEVICE_NEEDS_RESET with a config-change interrupt (virtio 1.2 §2.1.2).
/// </summary>
public class BlockRefusedChainTests
{
    private const byte StaleOk = StatusOk;

    [Fact]
    public void Data_buffer_outside_guest_ram_fails_the_request_with_io_error_over_a_stale_ok()
    {
        using var h = new BlockHarness();
        var before = h.FileBytes();
        h.WriteHeader(TypeOut, 0);
        ushort head = h.Reserve(3);
        h.Ring.SetDescriptor(head, HeaderArea, 16, Next, (ushort)(head + 1));
        h.Ring.SetDescriptor(head + 1, 0x1_0000_0000, 512, Next, (ushort)(head + 2));
        h.Ring.SetDescriptor(head + 2, StatusArea, 1, Write);

        Assert.Equal((StatusIoErr, 1u), h.Run(head, statusBefore: StaleOk));
        Assert.Equal(1, h.Queue.Counters.BadChains.Value);
        Assert.Equal(1, h.Device.Counters.IoErrors.Value);
        Assert.Equal(0, h.Device.Counters.WriteRequests.Value);
        Assert.Equal(before, h.FileBytes());
        Assert.Equal(StatusOk, h.Submit(TypeIn, 0, 512).Status);
    }

    [Fact]
    public void Readable_buffer_after_a_writable_one_fails_the_request_with_io_error()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeIn, 0);
        ushort head = h.Reserve(4);
        h.Ring.SetDescriptor(head, HeaderArea, 16, Next, (ushort)(head + 1));
        h.Ring.SetDescriptor(head + 1, Data, 512, Next | Write, (ushort)(head + 2));
        h.Ring.SetDescriptor(head + 2, Data + 0x1000, 512, Next, (ushort)(head + 3));
        h.Ring.SetDescriptor(head + 3, StatusArea, 1, Write);
        h.Ring.Buffer.AsSpan((int)Data, 512).Fill(0x3C);

        Assert.Equal((StatusIoErr, 1u), h.Run(head, statusBefore: StaleOk));
        Assert.All(h.Ring.Buffer.AsSpan((int)Data, 512).ToArray(), b => Assert.Equal(0x3C, b)); // no data read in
        Assert.Equal(StatusOk, h.Submit(TypeIn, 0, 512).Status);
    }

    [Fact]
    public void Refused_chain_in_an_indirect_table_fails_with_io_error()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeOut, 0);
        h.Ring.SetDescriptorAt(IndirectArea, 0, HeaderArea, 16, Next, 1);
        h.Ring.SetDescriptorAt(IndirectArea, 1, (ulong)h.Ring.Buffer.Length - 256, 512, Next, 2); // runs off the end of RAM
        h.Ring.SetDescriptorAt(IndirectArea, 2, StatusArea, 1, Write);
        ushort head = h.Reserve(1);
        h.Ring.SetDescriptor(head, IndirectArea, 3 * 16, Indirect);
        Assert.Equal((StatusIoErr, 1u), h.Run(head, statusBefore: StaleOk));
    }

    private static void AssertNeedsResetAndStopped(BlockHarness h, ushort head)
    {
        int irqsBefore = h.Irq.Count;
        h.Ring.Buffer[StatusArea] = StaleOk;
        h.Ring.Publish(head);
        h.Transport.ProcessQueue(0);

        Assert.Equal(0, h.Ring.UsedIdx); // not returned: len 0 would read as the stale OK
        Assert.Equal(StaleOk, h.Ring.Buffer[StatusArea]);
        Assert.Equal(1, h.Device.Counters.MissingStatus.Value);
        Assert.NotEqual(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
        Assert.NotEqual(0u, h.Transport.InterruptStatus & 2u); // config change
        Assert.Equal(irqsBefore + 1, h.Irq.Count);

        // The queue stays stopped: a later valid request is not processed.
        h.WriteHeader(TypeFlush, 0);
        h.Ring.SetDescriptor(10, HeaderArea, 16, Next, 11);
        h.Ring.SetDescriptor(11, StatusArea, 1, Write);
        h.Ring.Publish(10);
        h.Transport.ProcessQueue(0);
        Assert.Equal(0, h.Ring.UsedIdx);

        // A driver reset brings the device back.
        h.Ring.Buffer.AsSpan((int)DescTable, (int)(DataArea - DescTable)).Clear();
        h.Transport.BringUp(h.Ring, DefaultFeatures);
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Equal((StatusOk, 513u), h.Submit(TypeIn, 0, 512));
    }

    [Fact]
    public void Chain_with_a_next_index_out_of_range_sets_needs_reset_instead_of_returning_len_0()
    {
        // Was: returned with len 0 and the status untouched — a driver would have read the stale OK.
        using var h = new BlockHarness();
        h.WriteHeader(TypeOut, 0);
        h.Ring.SetDescriptor(0, HeaderArea, 16, Next, 200);
        AssertNeedsResetAndStopped(h, 0);
        Assert.Equal(1, h.Queue.Counters.BadChains.Value);
    }

    [Fact]
    public void Descriptor_loop_sets_needs_reset()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeOut, 0);
        h.Ring.SetDescriptor(0, HeaderArea, 16, Next, 1);
        h.Ring.SetDescriptor(1, StatusArea, 1, Write | Next, 0);
        AssertNeedsResetAndStopped(h, 0);
    }

    [Fact]
    public void Chain_without_a_writable_status_byte_sets_needs_reset()
    {
        // Was: returned with len 0 (counted as missing_status); the driver's own status byte stayed stale.
        using var h = new BlockHarness();
        h.WriteHeader(TypeFlush, 0);
        h.Ring.SetDescriptor(0, HeaderArea, 16);
        AssertNeedsResetAndStopped(h, 0);
    }

    [Fact]
    public void Status_buffer_outside_guest_ram_sets_needs_reset()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeFlush, 0);
        h.Ring.SetDescriptor(0, HeaderArea, 16, Next, 1);
        h.Ring.SetDescriptor(1, (ulong)h.Ring.Buffer.Length, 1, Write);
        AssertNeedsResetAndStopped(h, 0);
    }
}
