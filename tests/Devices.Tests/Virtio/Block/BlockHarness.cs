using Xunit;
using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Host.Native;
using static Csvmm.Devices.Tests.Virtio.RingLayout;

namespace Csvmm.Devices.Tests.Virtio.Block;

/// <summary>A block device on a temporary image behind a live transport, plus a driver that builds requests.</summary>
public sealed class BlockHarness : IDisposable
{
    public const ulong HeaderArea = 0x6000;
    public const ulong StatusArea = 0x7000;
    public const ulong IndirectArea = 0x7800;
    public const ulong Data = 0x10000;

    public const ulong DefaultFeatures = VirtioFeatures.Version1 | VirtioFeatures.IndirectDesc | VirtioFeatures.EventIdx
        | BlockProtocol.FeatureFlush | BlockProtocol.FeatureBlkSize | BlockProtocol.FeatureSegMax;

    private ushort _nextHead;

    public BlockHarness(int sizeBytes = 1 << 20, bool readOnly = false, ulong? features = null, string? serial = null,
        byte[]? contents = null)
    {
        ImagePath = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"csvmm-blk-{Guid.NewGuid():N}.img");
        var bytes = contents ?? new byte[sizeBytes];
        if (contents is null)
            for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + (i >> 9));
        File.WriteAllBytes(ImagePath, bytes);
        _file = BlockBackend.Open(ImagePath, readOnly);
        (Device, Ring, Irq, Transport) = BringUp(_file, features, serial);
    }

    /// <summary>A block device over <paramref name="backend"/> (e.g. a fault-injecting fake) instead of an image file.</summary>
    public BlockHarness(IBlockBackend backend, ulong? features = null, Serilog.ILogger? log = null)
    {
        ImagePath = "";
        (Device, Ring, Irq, Transport) = BringUp(backend, features, serial: "fake", log);
    }

    private static (BlockDevice, RingLayout, TestInterruptLine, VirtioMmioTransport) BringUp(IBlockBackend backend, ulong? features,
        string? serial, Serilog.ILogger? log = null)
    {
        var device = new BlockDevice(backend, serial, log);
        var ring = new RingLayout(size: 16, memorySize: 0x80000);
        var irq = new TestInterruptLine();
        var transport = new VirtioMmioTransport(device, ring.Memory, irq, log);
        ulong f = features ?? DefaultFeatures;
        if (!backend.ReadOnly) f |= BlockProtocol.FeatureDiscard | BlockProtocol.FeatureWriteZeroes;
        else if (features is null) f |= BlockProtocol.FeatureRo;
        transport.BringUp(ring, f);
        return (device, ring, irq, transport);
    }

    private readonly BlockBackend? _file;

    public string ImagePath { get; }

    /// <summary>The image-file backend (harnesses built over a file only).</summary>
    public BlockBackend Backend => _file ?? throw new InvalidOperationException("this harness runs over a fake backend");
    public BlockDevice Device { get; }
    public RingLayout Ring { get; }
    public TestInterruptLine Irq { get; }
    public VirtioMmioTransport Transport { get; }
    public Virtqueue Queue => Transport.Queues[0];

    /// <summary>
    /// The image's bytes, read with a plain open + preadv: File.ReadAllBytes would take a shared
    /// flock, which the device's exclusive lock (correctly) refuses.
    /// </summary>
    public byte[] FileBytes() => ReadUnlocked(ImagePath);

    public static unsafe byte[] ReadUnlocked(string path)
    {
        Assert.Equal(0, FileIo.TryOpen(path, readOnly: true, out var fd));
        using (fd)
        {
            Assert.Equal(0, FileIo.TryGetFileInfo(fd!.Fd, out _, out long size, out _, out _));
            var bytes = new byte[size];
            fixed (byte* p = bytes)
            {
                IoVec iov = new() { Base = (nint)p, Length = (nuint)size };
                Assert.Equal(size, FileIo.Preadv(fd.Fd, new ReadOnlySpan<IoVec>(ref iov), 0));
            }
            return bytes;
        }
    }

    public void WriteHeader(uint type, ulong sector, ulong at = HeaderArea)
    {
        var h = Ring.Buffer.AsSpan((int)at, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(h[8..], sector);
    }

    /// <summary>
    /// Submits header + one data buffer (writable for IN/GET_ID, readable otherwise) + status, runs
    /// the queue and returns (status, used.len).
    /// </summary>
    public (byte Status, uint Len) Submit(uint type, ulong sector, int dataLength = 0, byte[]? data = null)
    {
        WriteHeader(type, sector);
        bool writable = type is BlockProtocol.TypeIn or BlockProtocol.TypeGetId;
        if (data is not null) data.CopyTo(Ring.Buffer.AsSpan((int)Data));
        ushort h = Reserve(3);
        if (dataLength > 0)
        {
            Ring.SetDescriptor(h, HeaderArea, 16, Next, (ushort)(h + 1));
            Ring.SetDescriptor(h + 1, Data, (uint)dataLength, (ushort)(Next | (writable ? Write : 0)), (ushort)(h + 2));
            Ring.SetDescriptor(h + 2, StatusArea, 1, Write);
        }
        else
        {
            Ring.SetDescriptor(h, HeaderArea, 16, Next, (ushort)(h + 2));
            Ring.SetDescriptor(h + 2, StatusArea, 1, Write);
        }
        return Run(h);
    }

    /// <summary>Reserves <paramref name="count"/> consecutive descriptor slots (reused round-robin).</summary>
    public ushort Reserve(int count)
    {
        if (_nextHead + count > Ring.Size) _nextHead = 0;
        ushort h = _nextHead;
        _nextHead += (ushort)count;
        return h;
    }

    /// <summary>
    /// Publishes <paramref name="head"/>, runs the queue and returns (status, used.len). The status
    /// byte is preset to <paramref name="statusBefore"/> (0 = a stale OK from an earlier request).
    /// </summary>
    public (byte Status, uint Len) Run(ushort head, byte statusBefore = 0xEE)
    {
        Ring.Buffer[StatusArea] = statusBefore;
        ushort usedBefore = Ring.UsedIdx;
        Ring.Publish(head);
        Transport.ProcessQueue(0);
        if (Ring.UsedIdx != (ushort)(usedBefore + 1))
            throw new InvalidOperationException($"request not completed (used.idx {Ring.UsedIdx})");
        var (id, len) = Ring.UsedElement(usedBefore);
        if (id != head) throw new InvalidOperationException($"used id {id}, expected {head}");
        return (Ring.Buffer[StatusArea], len);
    }

    public void Dispose()
    {
        Transport.Dispose();
        Ring.Dispose();
        if (_file is not null)
        {
            _file.Dispose();
            File.Delete(ImagePath);
        }
    }
}
