using System.Buffers.Binary;
using Csvmm.Devices.Virtio.Block;
using Xunit;
using static Csvmm.Devices.Virtio.Block.BlockProtocol;

namespace Csvmm.Devices.Tests.Virtio.Block;

/// <summary>
/// A guest vCPU can rewrite request bytes while the device works on them. The device must read each
/// guest value once, validate the copy and act on the copy: a value rewritten after validation must
/// never reach the backend. These tests rewrite guest memory from inside the backend call, the
/// exact moment between "validated" and "used", so the race is deterministic.
/// </summary>
public sealed class BlockDoubleFetchTests
{
    private static byte[] Segment(ulong sector, uint count, uint flags)
    {
        var s = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(s, sector);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), count);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(12), flags);
        return s;
    }

    [Theory]
    [InlineData(TypeDiscard)]
    [InlineData(TypeWriteZeroes)]
    public void Segments_rewritten_after_validation_never_reach_the_backend(uint type)
    {
        var disk = new RecordingBackend(sizeBytes: 1 << 20); // 2048 sectors
        using var h = new BlockHarness(disk);
        var data = new byte[32];
        Segment(8, 16, 0).CopyTo(data, 0);
        Segment(100, 4, 0).CopyTo(data, 16);
        // When the device acts on the first segment, the "guest" moves the second one far beyond
        // the disk: 2^40 sectors and 2 GiB long. Only the validated (100, 4) may be acted on.
        disk.OnFirstCall = () =>
            BinaryPrimitives.WriteUInt64LittleEndian(h.Ring.Buffer.AsSpan((int)BlockHarness.Data + 16), 1UL << 40);

        var (status, _) = h.Submit(type, 0, 32, data);

        Assert.Equal(StatusOk, status);
        Assert.Equal([(8 * 512L, 16 * 512L), (100 * 512L, 4 * 512L)], disk.Calls);
        Assert.All(disk.Calls, c => Assert.True(c.Offset + c.Length <= disk.Bytes.Length));
    }

    [Fact]
    public void Header_rewritten_after_the_request_starts_does_not_change_the_sector()
    {
        var disk = new RecordingBackend(sizeBytes: 1 << 20);
        using var h = new BlockHarness(disk);
        // The data of a 512-byte write to sector 3; while the backend writes, the guest changes the
        // header's sector. The transfer already under way must use sector 3.
        disk.OnFirstCall = () =>
            BinaryPrimitives.WriteUInt64LittleEndian(h.Ring.Buffer.AsSpan((int)BlockHarness.HeaderArea + 8), 1UL << 50);
        var (status, _) = h.Submit(TypeOut, 3, 512, Enumerable.Repeat((byte)0x5A, 512).ToArray());
        Assert.Equal(StatusOk, status);
        Assert.Equal([(3 * 512L, 512L)], disk.Calls);
    }

    /// <summary>An in-memory disk that records where every write, discard and write-zeroes went.</summary>
    private sealed class RecordingBackend(int sizeBytes) : IBlockBackend
    {
        private readonly FaultyBlockBackend _disk = new(sizeBytes);

        public byte[] Bytes => _disk.Bytes;
        public List<(long Offset, long Length)> Calls { get; } = [];
        public Action? OnFirstCall { get; set; }

        public string Path => "recording.img";
        public bool ReadOnly => false;
        public ulong CapacitySectors => _disk.CapacitySectors;
        public ulong Device => 1;
        public ulong Inode => 3;

        public long Read(ReadOnlySpan<Host.Native.IoVec> iov, long offset) => _disk.Read(iov, offset);

        public long Write(ReadOnlySpan<Host.Native.IoVec> iov, long offset)
        {
            long n = _disk.Write(iov, offset);
            Record(offset, n);
            return n;
        }

        public int Flush() => 0;

        public int Discard(long offset, long length)
        {
            Record(offset, length);
            return 0;
        }

        public int WriteZeroes(long offset, long length, bool unmap)
        {
            Record(offset, length);
            return 0;
        }

        private void Record(long offset, long length)
        {
            Calls.Add((offset, length));
            var hook = OnFirstCall;
            OnFirstCall = null;
            hook?.Invoke();
        }
    }
}
