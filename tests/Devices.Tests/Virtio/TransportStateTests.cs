using System.Buffers.Binary;
using Csvmm.Devices.State;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.MmioDriver;
using static Csvmm.Devices.Tests.Virtio.RingLayout;

namespace Csvmm.Devices.Tests.Virtio;

/// <summary>
/// A transport's snapshot state: saved from a live device, restored into a freshly built one over
/// the same guest memory, it carries on where the first stopped; a state that is short, has bytes
/// left over, or points a ring outside guest RAM is refused (it comes from a file anyone can edit).
/// </summary>
public sealed class TransportStateTests : IDisposable
{
    private const ulong Features = VirtioFeatures.Version1 | VirtioFeatures.EventIdx;

    private readonly RingLayout _ring = new();
    private readonly TestInterruptLine _irq = new();

    public void Dispose() => _ring.Dispose();

    /// <summary>A live device that completed one request, saved.</summary>
    private byte[] SavedAfterOneRequest(out FakeVirtioDevice device)
    {
        device = new FakeVirtioDevice();
        using var t = new VirtioMmioTransport(device, _ring.Memory, _irq);
        t.BringUp(_ring, Features);
        _ring.SetDescriptor(0, DataArea, 8, Write);
        _ring.Publish(0);
        var q = device.Queues![0];
        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
        q.AddUsed(chain.Head, 8);
        var w = new StateWriter();
        t.Save(w);
        return w.ToArray();
    }

    private VirtioMmioTransport Restored(byte[] state, FakeVirtioDevice device)
    {
        var t = new VirtioMmioTransport(device, _ring.Memory, _irq);
        var r = new StateReader(state);
        t.Restore(ref r);
        r.End("transport");
        return t;
    }

    [Fact]
    public void A_restored_transport_is_live_with_the_saved_ring_positions_and_serves_the_next_request()
    {
        byte[] state = SavedAfterOneRequest(out _);
        var fresh = new FakeVirtioDevice();
        using var t = Restored(state, fresh);

        Assert.Equal(Live, t.Read32(Status));
        Assert.Equal(1, fresh.Activations);
        Assert.Equal(Features, fresh.ActivatedFeatures);
        var q = fresh.Queues![0];
        Assert.Equal((ushort)1, q.LastAvail);
        Assert.Equal((ushort)1, q.NextUsed);

        // The guest's second request is the next one popped; its completion lands in used slot 1.
        _ring.SetDescriptor(1, DataArea + 0x100, 8, Write);
        _ring.Publish(1);
        var chain = new DescriptorChain(16);
        Assert.Equal(PopResult.Chain, q.TryPopChain(chain));
        Assert.Equal(1, chain.Head);
        q.AddUsed(chain.Head, 8);
        Assert.Equal(2, _ring.UsedIdx);
        Assert.Equal((1u, 8u), _ring.UsedElement(1));
    }

    [Fact]
    public void A_state_cut_short_anywhere_is_refused()
    {
        byte[] state = SavedAfterOneRequest(out _);
        for (int cut = 0; cut < state.Length; cut += 3)
            Assert.Throws<StateFormatException>(() => Restored(state[..cut], new FakeVirtioDevice()).Dispose());
    }

    [Fact]
    public void A_state_with_bytes_left_over_is_refused()
    {
        byte[] state = [.. SavedAfterOneRequest(out _), 0];
        Assert.Throws<StateFormatException>(() => Restored(state, new FakeVirtioDevice()).Dispose());
    }

    [Fact]
    public void A_ring_moved_outside_guest_ram_is_refused_before_the_device_is_activated()
    {
        byte[] state = SavedAfterOneRequest(out _);
        // The queue-0 descriptor table address: find the saved value and point it past RAM's end.
        int at = IndexOfU64(state, DescTable);
        Assert.True(at >= 0);
        BinaryPrimitives.WriteUInt64LittleEndian(state.AsSpan(at), (ulong)_ring.Buffer.Length + 0x1000);
        var fresh = new FakeVirtioDevice();
        var e = Assert.Throws<StateFormatException>(() => Restored(state, fresh).Dispose());
        Assert.Contains("do not validate", e.Message);
        Assert.Equal(0, fresh.Activations);
    }

    [Fact]
    public void A_queue_size_above_the_device_maximum_is_refused()
    {
        byte[] state = SavedAfterOneRequest(out _);
        int at = IndexOfU64(state, DescTable) - 2; // the queue size precedes its descriptor table
        BinaryPrimitives.WriteUInt16LittleEndian(state.AsSpan(at), 4096);
        var e = Assert.Throws<StateFormatException>(() => Restored(state, new FakeVirtioDevice()).Dispose());
        Assert.Contains("queue size 4096", e.Message);
    }

    private static int IndexOfU64(byte[] data, ulong value)
    {
        Span<byte> needle = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(needle, value);
        return data.AsSpan().IndexOf(needle);
    }
}
