using Csvmm.Devices.Virtio;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.RingLayout;

namespace Csvmm.Devices.Tests.Virtio;

/// <summary>
/// Where a refused chain's status byte is (<see cref="DescriptorChain.TryGetLastWritableByte"/>):
/// found when only a buffer broke a rule, not when the links did.
/// </summary>
public class ChainStatusByteTests
{
    private const ulong Features = VirtioFeatures.Version1 | VirtioFeatures.IndirectDesc;

    private static (PopResult Result, DescriptorChain Chain) PopOne(RingLayout r)
    {
        var q = r.ActivatedQueue(Features);
        var chain = new DescriptorChain(r.Size);
        return (q.TryPopChain(chain), chain);
    }

    [Fact]
    public void Valid_chain_reports_the_last_byte_of_its_writable_tail()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 1);
        r.SetDescriptor(1, DataArea + 0x100, 8, Write | Next, 2);
        r.SetDescriptor(2, DataArea + 0x200, 0, Write); // empty buffers do not count
        r.Publish(0);
        var (result, chain) = PopOne(r);
        Assert.Equal(PopResult.Chain, result);
        Assert.True(chain.TryGetLastWritableByte(out ulong at));
        Assert.Equal(DataArea + 0x107, at);
    }

    [Fact]
    public void Chain_refused_for_a_buffer_outside_ram_still_locates_its_status_byte()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 1);
        r.SetDescriptor(1, 0x1_0000_0000, 512, Next, 2);
        r.SetDescriptor(2, DataArea + 0x300, 1, Write);
        r.Publish(0);
        var (result, chain) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(ChainError.BufferOutsideMemory, chain.Error);
        Assert.True(chain.TryGetLastWritableByte(out ulong at));
        Assert.Equal(DataArea + 0x300, at);
    }

    [Fact]
    public void Readable_tail_has_no_status_byte()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Write | Next, 1);
        r.SetDescriptor(1, DataArea + 0x100, 16);
        r.Publish(0);
        var (result, chain) = PopOne(r);
        Assert.Equal(ChainError.ReadableAfterWritable, chain.Error);
        Assert.False(chain.TryGetLastWritableByte(out _));
    }

    [Fact]
    public void Writable_tail_outside_ram_has_no_status_byte()
    {
        using var r = new RingLayout();
        r.SetDescriptor(0, DataArea, 16, Next, 1);
        r.SetDescriptor(1, (ulong)r.Buffer.Length - 1, 2, Write);
        r.Publish(0);
        var (_, chain) = PopOne(r);
        Assert.Equal(ChainError.BufferOutsideMemory, chain.Error);
        Assert.False(chain.TryGetLastWritableByte(out _));
    }

    [Theory]
    [InlineData(ChainError.NextOutOfRange)]
    [InlineData(ChainError.ChainTooLong)]
    public void Broken_links_leave_the_status_byte_unknown(ChainError error)
    {
        using var r = new RingLayout();
        // A buffer error first, then a link error: the link error wins and nothing is located.
        r.SetDescriptor(0, 0x1_0000_0000, 16, Next, 1);
        r.SetDescriptor(1, DataArea + 0x300, 1, Write | Next, (ushort)(error == ChainError.NextOutOfRange ? 99 : 0));
        r.Publish(0);
        var (result, chain) = PopOne(r);
        Assert.Equal(PopResult.BadChain, result);
        Assert.Equal(error, chain.Error);
        Assert.False(chain.TryGetLastWritableByte(out _));
    }
}
