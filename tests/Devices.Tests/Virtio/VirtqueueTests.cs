using Xunit;
using Csvmm.Devices.Virtio;
using static Csvmm.Devices.Tests.Virtio.RingLayout;

namespace Csvmm.Devices.Tests.Virtio;

public class VirtqueueTests
{
    private const ulong Features = VirtioFeatures.Version1 | VirtioFeatures.IndirectDesc | VirtioFeatures.EventIdx;

    [Fact]
    public void Simple_chain_is_walked_in_order()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue();
        r.SetDescriptor(3, DataArea, 16, Next, 5);
        r.SetDescriptor(5, DataArea + 0x100, 512, Next | Write, 7);
        r.SetDescriptor(7, DataArea + 0x400, 1, Write);
        r.Publish(3);

        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
        Assert.Equal(3, chain.Head);
        Assert.Equal(3, chain.Count);
        Assert.Equal(new ChainSegment(DataArea, 16, false), chain[0]);
        Assert.Equal(new ChainSegment(DataArea + 0x100, 512, true), chain[1]);
        Assert.Equal(new ChainSegment(DataArea + 0x400, 1, true), chain[2]);
        Assert.Equal(16UL, chain.ReadableLength);
        Assert.Equal(513UL, chain.WritableLength);
        Assert.Equal(1, chain.ReadableCount);
        Assert.Equal(PopResult.Empty, q.TryPopChain(chain));
    }

    [Fact]
    public void Used_element_is_published_before_the_index()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue();
        r.SetDescriptor(0, DataArea, 8, Write);
        r.Publish(0);
        var chain = new DescriptorChain(16);
        q.TryPopChain(chain);
        q.AddUsed(chain.Head, 8);
        Assert.Equal(1, r.UsedIdx);
        Assert.Equal((0u, 8u), r.UsedElement(0));
    }

    [Fact]
    public void Indirect_table_is_followed_when_negotiated()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        ulong table = DataArea + 0x1000;
        r.SetDescriptorAt(table, 0, DataArea, 16, Next, 1);
        r.SetDescriptorAt(table, 1, DataArea + 0x200, 1024, Next | Write, 2);
        r.SetDescriptorAt(table, 2, DataArea + 0x800, 1, Write);
        r.SetDescriptor(2, table, 48, Indirect);
        r.Publish(2);

        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
        Assert.Equal(2, chain.Head);
        Assert.Equal(3, chain.Count);
        Assert.Equal(1025UL, chain.WritableLength);
    }

    [Fact]
    public void Zero_length_descriptor_is_treated_as_empty()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue();
        r.SetDescriptor(0, DataArea, 0, Next, 1);
        r.SetDescriptor(1, DataArea, 4, Write);
        r.Publish(0);
        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
        Assert.Equal(1, chain.Count);
    }

    [Fact]
    public void Indices_wrap_around_at_65536()
    {
        using var r = new RingLayout(size: 4);
        var q = r.ActivatedQueue();
        q.LastAvail = 65534;
        q.NextUsed = 65534;
        r.AvailIdx = 65534;
        for (ushort i = 0; i < 4; i++)
        {
            r.SetDescriptor(i, DataArea + 0x100UL * i, 1, Write);
            r.Publish(i);
        }
        Assert.Equal(2, r.AvailIdx);

        var chain = new DescriptorChain(4);
        for (ushort i = 0; i < 4; i++)
        {
            Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
            Assert.Equal(i, chain.Head);
            q.AddUsed(chain.Head, i);
        }
        Assert.Equal(PopResult.Empty, q.TryPopChain(chain));
        Assert.Equal(2, q.LastAvail);
        Assert.Equal(2, r.UsedIdx);
        // used index 65535 lives in slot 3, index 0 in slot 0.
        Assert.Equal((1u, 1u), r.UsedElement(65535 % 4));
        Assert.Equal((2u, 2u), r.UsedElement(0));
    }

    [Fact]
    public void Event_idx_avail_event_is_written_before_sleeping()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        r.SetDescriptor(0, DataArea, 1, Write);
        r.Publish(0);
        r.Publish(0);
        var chain = new DescriptorChain(16);
        q.TryPopChain(chain);
        q.TryPopChain(chain);

        Assert.False(q.EnableNotification());
        Assert.Equal(2, r.AvailEvent);
    }

    [Fact]
    public void Event_idx_recheck_finds_buffers_that_arrived_before_sleeping()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        r.SetDescriptor(0, DataArea, 1, Write);
        r.Publish(0);
        Assert.True(q.EnableNotification());
        Assert.Equal(0, r.AvailEvent);
    }

    [Fact]
    public void Held_notification_leaves_avail_event_behind_until_armed()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        q.HoldNotifications = true;
        r.SetDescriptor(0, DataArea, 1, Write);
        r.Publish(0);
        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));

        Assert.False(q.EnableNotification());
        Assert.Equal(0, r.AvailEvent); // the driver is not asked to kick for index 1 yet
        Assert.False(q.HeldWithBuffers);

        Assert.False(q.ArmNotification());
        Assert.Equal(1, r.AvailEvent);
        Assert.False(q.ArmNotification()); // nothing held any more: no second write
    }

    [Fact]
    public void Buffers_published_while_held_are_seen_by_polling_and_by_arming()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        q.HoldNotifications = true;
        r.SetDescriptor(0, DataArea, 1, Write);
        Assert.False(q.EnableNotification());
        Assert.False(q.HeldWithBuffers);
        r.Publish(0); // no kick: avail_event still says 0, which the driver passed
        Assert.True(q.HeldWithBuffers);
        Assert.True(q.ArmNotification());
        Assert.Equal(0, r.AvailEvent);
    }

    [Fact]
    public void Without_event_idx_holding_changes_nothing()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(VirtioFeatures.Version1);
        q.HoldNotifications = true;
        Assert.False(q.EnableNotification());
        Assert.False(q.HeldWithBuffers);
        Assert.False(q.ArmNotification());
    }

    [Fact]
    public void Event_idx_interrupts_only_when_used_event_is_passed()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        r.SetDescriptor(0, DataArea, 1, Write);
        var chain = new DescriptorChain(16);

        void Complete()
        {
            r.Publish(0);
            Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
            q.AddUsed(chain.Head, 1);
        }

        Complete(); // used.idx 1
        r.UsedEvent = 0;
        Assert.True(q.NeedsInterrupt()); // 0 passed

        r.UsedEvent = 3; // "interrupt me once entry 3 is used", i.e. when used.idx goes past 3
        Complete(); // 2
        Assert.False(q.NeedsInterrupt());
        Complete(); // 3
        Assert.False(q.NeedsInterrupt());
        Complete(); // 4
        Assert.True(q.NeedsInterrupt());
        Assert.False(q.NeedsInterrupt()); // nothing new since
    }

    [Fact]
    public void Event_idx_batch_that_jumps_over_used_event_interrupts()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        r.SetDescriptor(0, DataArea, 1, Write);
        var chain = new DescriptorChain(16);
        r.Publish(0);
        q.TryPopChain(chain);
        q.AddUsed(0, 1);
        Assert.True(q.NeedsInterrupt());

        r.UsedEvent = 2;
        for (int i = 0; i < 5; i++)
        {
            r.Publish(0);
            q.TryPopChain(chain);
            q.AddUsed(0, 1);
        }
        Assert.True(q.NeedsInterrupt());
    }

    [Fact]
    public void No_interrupt_flag_suppresses_interrupts_without_event_idx()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue();
        r.SetDescriptor(0, DataArea, 1, Write);
        var chain = new DescriptorChain(16);
        r.AvailFlags = 1;
        r.Publish(0);
        q.TryPopChain(chain);
        q.AddUsed(0, 1);
        Assert.False(q.NeedsInterrupt());

        r.AvailFlags = 0;
        r.Publish(0);
        q.TryPopChain(chain);
        q.AddUsed(0, 1);
        Assert.True(q.NeedsInterrupt());
    }

    // ---- hostile driver ----

    private static (PopResult, DescriptorChain, Virtqueue) PopOne(RingLayout r, ulong features = Features)
    {
        var q = r.ActivatedQueue(features);
        var chain = new DescriptorChain(r.Size);
        var result = q.TryPopChain(chain);
        return (result, chain, q);
    }

    [Fact]
    public void Next_index_beyond_queue_size_fails_the_chain()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 16);
        r.Publish(0);
        var (result, chain, q) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.NextOutOfRange, chain.Error);
        Assert.Equal(0, chain.Head);
        Assert.False(q.IsBroken);
        Assert.Equal(1, q.Counters.BadChains.Value);
    }

    [Fact]
    public void Head_index_beyond_queue_size_breaks_the_ring()
    {
        using var r = new RingLayout();
        r.Publish(16);
        var (result, _, q) = PopOne(r);
        Assert.Equal(PopResult.RingCorrupt, result);
        Assert.True(q.IsBroken);
        Assert.Equal(1, q.Counters.RingErrors.Value);
    }

    [Fact]
    public void Descriptor_loop_is_rejected()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 1);
        r.SetDescriptor(1, DataArea, 16, Next, 0);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.ChainTooLong, chain.Error);
    }

    [Fact]
    public void Zero_length_descriptor_loop_is_rejected()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 0, Next, 0);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.ChainTooLong, chain.Error);
    }

    [Fact]
    public void Chain_longer_than_queue_size_is_rejected()
    {
        using var r = new RingLayout(size: 4);
        ulong table = DataArea + 0x1000;
        for (ushort i = 0; i < 8; i++)
            r.SetDescriptorAt(table, i, DataArea, 1, (ushort)(i < 7 ? Next : 0), (ushort)(i + 1));
        r.SetDescriptor(0, table, 8 * 16, Indirect);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.ChainTooLong, chain.Error);
    }

    [Fact]
    public void Indirect_table_with_as_many_buffers_as_the_queue_size_is_accepted()
    {
        // Linux's largest virtio-blk request: header + seg_max data + status = queue size entries,
        // all in one indirect table. Rejecting it silently dropped writes in a real guest.
        using var r = new RingLayout(size: 4);
        ulong table = DataArea + 0x1000;
        for (ushort i = 0; i < 4; i++)
            r.SetDescriptorAt(table, i, DataArea + i * 16UL, 16, (ushort)(i < 3 ? Next : 0), (ushort)(i + 1));
        r.SetDescriptor(0, table, 4 * 16, Indirect);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.Chain, result);
        Assert.Equal(4, chain.Count);
    }

    [Fact]
    public void Nested_indirect_table_is_rejected()
    {
        using var r = new RingLayout();
        ulong table = DataArea + 0x1000;
        r.SetDescriptorAt(table, 0, table, 16, Indirect);
        r.SetDescriptor(0, table, 16, Indirect);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.NestedIndirect, chain.Error);
    }

    [Fact]
    public void Indirect_with_next_is_rejected()
    {
        using var r = new RingLayout();
        ulong table = DataArea + 0x1000;
        r.SetDescriptorAt(table, 0, DataArea, 16);
        r.SetDescriptor(0, table, 16, Indirect | Next, 1);
        r.SetDescriptor(1, DataArea, 1, Write);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.IndirectWithNext, chain.Error);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(24u)]
    [InlineData(15u)]
    public void Indirect_length_must_be_a_nonzero_multiple_of_16(uint length)
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea + 0x1000, length, Indirect);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.IndirectBadLength, chain.Error);
    }

    [Fact]
    public void Indirect_without_the_feature_is_rejected()
    {
        using var r = new RingLayout();
        ulong table = DataArea + 0x1000;
        r.SetDescriptorAt(table, 0, DataArea, 16);
        r.SetDescriptor(0, table, 16, Indirect);
        r.Publish(0);
        var (result, chain, _) = PopOne(r, VirtioFeatures.Version1);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.IndirectNotNegotiated, chain.Error);
    }

    [Fact]
    public void Indirect_table_outside_guest_ram_is_rejected()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, (ulong)r.Buffer.Length - 16, 32, Indirect);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.IndirectTableOutsideMemory, chain.Error);
    }

    [Theory]
    [InlineData(0x3FFF8UL, 16u)]               // straddles the end of RAM (0x40000)
    [InlineData(0x40000UL, 1u)]                // starts just past the end
    [InlineData(ulong.MaxValue - 4, 16u)]      // addr + len overflows
    [InlineData(0x1_0000_0000UL, 512u)]        // far outside
    public void Buffer_outside_guest_ram_is_rejected(ulong addr, uint len)
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 1);
        r.SetDescriptor(1, addr, len, Write);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.BufferOutsideMemory, chain.Error);
    }

    [Fact]
    public void Readable_descriptor_after_a_writable_one_is_rejected()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Write | Next, 1);
        r.SetDescriptor(1, DataArea + 0x100, 16);
        r.Publish(0);
        var (result, chain, _) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.ReadableAfterWritable, chain.Error);
    }

    [Fact]
    public void Pending_count_above_queue_size_breaks_the_ring()
    {
        using var r = new RingLayout();
        r.AvailIdx = 17;
        var (result, _, q) = PopOne(r);
        Assert.Equal(PopResult.RingCorrupt, result);
        Assert.True(q.IsBroken);
        Assert.Contains("more than the queue size", q.BrokenReason);
        // A broken queue processes nothing more.
        r.AvailIdx = 1;
        Assert.Equal(PopResult.Empty, q.TryPopChain(new DescriptorChain(16)));
    }

    [Fact]
    public void Bad_chain_does_not_stop_later_chains()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 99);
        r.SetDescriptor(1, DataArea, 16);
        r.Publish(0);
        r.Publish(1);
        var (result, _, q) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
        Assert.Equal(1, chain.Head);
    }

    [Theory]
    [InlineData((ushort)12, DescTable, AvailRing, UsedRing)]        // not a power of two
    [InlineData((ushort)32, DescTable, AvailRing, UsedRing)]        // above the maximum
    [InlineData((ushort)16, DescTable + 8, AvailRing, UsedRing)]    // descriptor table misaligned
    [InlineData((ushort)16, DescTable, AvailRing + 1, UsedRing)]    // avail misaligned
    [InlineData((ushort)16, DescTable, AvailRing, UsedRing + 2)]    // used misaligned
    [InlineData((ushort)16, 0x3FF10UL, AvailRing, UsedRing)]        // table runs off the end of RAM
    [InlineData((ushort)16, DescTable, AvailRing, 0x3FFC0UL)]       // used ring runs off the end
    [InlineData((ushort)16, DescTable, 0xFFFF_FFFF_FFFF_FFF0UL, UsedRing)] // overflow
    public void Activation_refuses_invalid_configuration(ushort size, ulong desc, ulong avail, ulong used)
    {
        using var r = new RingLayout();
        var q = new Virtqueue(0, 16) { Size = size, DescTableAddress = desc, AvailRingAddress = avail, UsedRingAddress = used, Ready = true };
        Assert.False(q.TryActivate(r.Memory, Features, out string reason));
        Assert.NotEmpty(reason);
        Assert.False(q.IsActive);
    }

    [Fact]
    public void Guard_bytes_around_a_refused_buffer_stay_untouched()
    {
        using var r = new RingLayout();
        var q = r.ActivatedQueue(Features);
        r.Buffer.AsSpan(0x3F000).Fill(0xA5);
        r.SetDescriptor(0, 0x3FFF0, 0x20, Write);
        r.Publish(0);
        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.BadChain, q.TryPopChain(chain));
        q.AddUsed(chain.Head, 0);
        Assert.All(r.Buffer.AsSpan(0x3F000).ToArray(), b => Assert.Equal(0xA5, b));
        Assert.Equal((0u, 0u), r.UsedElement(0));
    }
}
