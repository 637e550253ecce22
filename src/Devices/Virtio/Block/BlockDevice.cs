using Csvmm.Host.Memory;
using System.Buffers.Binary;
using System.Text;
using Csvmm.Host.Native;
using Csvmm.Devices.Logging;
using Csvmm.Devices.State;
using Serilog;
using Serilog.Events;
using static Csvmm.Devices.Virtio.Block.BlockProtocol;

namespace Csvmm.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (device ID 2) over an <see cref="IBlockBackend"/> (an image file: <see cref="BlockBackend"/>), one request queue (virtio 1.2 §5.2).
/// Requests use any descriptor layout (VERSION_1): the 16-byte header is the start of the readable
/// bytes, the status the last writable byte, data lies in between. Data moves with preadv/pwritev
/// straight into/out of guest memory through a preallocated iovec array; nothing is allocated per
/// request. A write completes once pwritev has taken every byte (the page cache holds it); FLUSH
/// completes after fdatasync, and without a negotiated FLUSH every write is synced before completion.
/// <para>
/// Failures: a backend error (EIO, ENOSPC, ...) or a transfer that stays short after retrying fails
/// that request with VIRTIO_BLK_S_IOERR and the device keeps serving. A chain the queue refused is
/// failed the same way (IOERR, used.len 1) when its status byte — the last byte of its last buffer,
/// device-writable and in RAM — can be found; otherwise no status can be given without risking a
/// stale OK, so the queue stops and the device asks for a reset (DEVICE_NEEDS_RESET).
/// </para>
/// </summary>
public sealed class BlockDevice : IVirtioDevice, IDurableDevice, ISnapshotDevice
{
    public const ushort QueueSize = 256;

    /// <summary>Data segments per request: the queue size minus header and status descriptors.</summary>
    public const uint SegMax = QueueSize - 2;

    public const uint MaxDiscardSectors = 1u << 22; // 2 GiB per segment
    public const uint MaxDiscardSegments = 32;

    private static readonly ushort[] QueueSizes = [QueueSize];

    private readonly IBlockBackend _backend;
    private readonly ILogger _log;
    private readonly GuestLog _guestLog;
    private readonly ConfigSpace _config = new(ConfigSize);
    private readonly byte[] _id = new byte[IdSize];
    private readonly DescriptorChain _chain = new(QueueSize);
    private readonly IoVec[] _iov = new IoVec[QueueSize];
    private readonly byte[] _scratch = new byte[HeaderSize];
    private readonly byte[] _segments = new byte[MaxDiscardSegments * DiscardSegmentSize];

    private GuestMemory? _memory;
    private Virtqueue? _queue;
    private IVirtioInterrupt? _interrupt;
    private bool _flushNegotiated;
    private int _syncFailure;

    /// <param name="backend">The opened image; the device does not own (dispose) it.</param>
    /// <param name="serial">GET_ID serial (ASCII, at most 20 bytes); default derived from the image's device and inode.</param>
    public BlockDevice(IBlockBackend backend, string? serial = null, ILogger? log = null)
    {
        _backend = backend;
        _log = log ?? Serilog.Core.Logger.None;
        _guestLog = new GuestLog(_log, $"virtio-blk {backend.Path}");
        serial ??= $"{backend.Device:x}-{backend.Inode:x}";
        int n = Encoding.ASCII.GetBytes(serial.AsSpan(0, Math.Min(serial.Length, IdSize)), _id);
        _id.AsSpan(n).Clear();

        OfferedFeatures = VirtioFeatures.Version1 | VirtioFeatures.IndirectDesc | VirtioFeatures.EventIdx
            | FeatureFlush | FeatureBlkSize | FeatureSegMax
            | (backend.ReadOnly ? FeatureRo : FeatureDiscard | FeatureWriteZeroes);

        var c = _config.Bytes;
        BinaryPrimitives.WriteUInt64LittleEndian(c[ConfigCapacity..], backend.CapacitySectors);
        BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigSegMax..], SegMax);
        BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigBlkSize..], BlockBackend.SectorSize);
        if (!backend.ReadOnly)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigMaxDiscardSectors..], MaxDiscardSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigMaxDiscardSeg..], MaxDiscardSegments);
            BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigDiscardSectorAlignment..], 1);
            BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigMaxWriteZeroesSectors..], MaxDiscardSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(c[ConfigMaxWriteZeroesSeg..], MaxDiscardSegments);
            c[ConfigWriteZeroesMayUnmap] = 1;
        }
    }

    public uint DeviceType => BlockProtocol.DeviceType;

    public ulong OfferedFeatures { get; }

    public ReadOnlySpan<ushort> QueueMaxSizes => QueueSizes;

    public BlockCounters Counters { get; } = new();

    public IBlockBackend Backend => _backend;

    /// <summary>The GET_ID serial as sent to the guest (20 bytes, NUL-padded).</summary>
    public ReadOnlySpan<byte> Serial => _id;

    public void ReadConfig(ulong offset, Span<byte> data) => _config.Read(offset, data);

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data)
    {
        // Nothing writable without CONFIG_WCE, which is not offered.
        _guestLog.Debug("virtio-blk: ignored config write at offset {Offset}", offset);
    }

    public void Activate(GuestMemory memory, IReadOnlyList<Virtqueue> queues, ulong negotiatedFeatures, IVirtioInterrupt interrupt)
    {
        if (!queues[0].IsActive)
            throw new VirtioDeviceException("virtio-blk: the driver did not enable the request queue");
        _memory = memory;
        _queue = queues[0];
        _interrupt = interrupt;
        _flushNegotiated = (negotiatedFeatures & FeatureFlush) != 0;
    }

    public void Reset()
    {
        _memory = null;
        _queue = null;
        _interrupt = null;
        _flushNegotiated = false;
    }

    public bool ProcessQueue(int queueIndex)
    {
        var q = _queue;
        if (q is null || queueIndex != 0 || !q.IsActive) return false;
        var handler = new RequestHandler(this, q);
        return QueueService.Drain(q, _chain, ref handler, _interrupt);
    }

    private readonly struct RequestHandler(BlockDevice device, Virtqueue queue) : IChainHandler
    {
        public bool Handle(DescriptorChain chain, PopResult result, out uint usedLength)
        {
            usedLength = 0;
            if (!chain.TryGetLastWritableByte(out ulong statusAddress))
            {
                // Returning the head with len 0 would let the driver read whatever its status
                // byte held before — often OK from an earlier request — and take a failed write
                // for a good one. With no status byte to fail it, stop the queue instead: the
                // transport sets DEVICE_NEEDS_RESET and raises a config interrupt (virtio 1.2 §2.1.2).
                device.Counters.MissingStatus.Increment();
                queue.MarkBroken($"virtio-blk: request at head {chain.Head} has no device-writable status byte" +
                    (chain.Error == ChainError.None ? "" : $" ({chain.Error})"));
                return false;
            }
            // A refused chain whose status byte can be found fails with IOERR, len 1: the driver
            // sees the failure instead of a stale status (virtio 1.2 §2.7.4.2 lets the device
            // report the bytes it wrote).
            usedLength = result == PopResult.Chain ? device.Handle(chain, statusAddress) : device.Refuse(chain, statusAddress);
            return true;
        }
    }

    /// <summary>Executes one request; returns used.len (virtio 1.2 §5.2.6).</summary>
    private uint Handle(DescriptorChain chain, ulong statusAddress)
    {
        ulong writableData = chain.WritableLength - 1;

        byte status;
        uint written = 0;
        if (chain.ReadableLength < HeaderSize)
            status = Invalid(chain, "header shorter than 16 bytes");
        else
        {
            var header = _scratch.AsSpan(0, HeaderSize);
            chain.CopyFromReadable(_memory!, 0, header);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            ulong readableData = chain.ReadableLength - HeaderSize;
            status = type switch
            {
                TypeIn => Read(chain, sector, writableData, out written),
                TypeOut => Write(chain, sector, readableData),
                TypeFlush => Flush(),
                TypeGetId => GetId(chain, writableData, out written),
                TypeDiscard or TypeWriteZeroes => DiscardOrZero(chain, type, readableData),
                _ => Unsupported(type),
            };
        }

        SetStatus(statusAddress, status);
        return written + 1;
    }

    /// <summary>A chain the queue refused (a buffer outside RAM, readable after writable): IOERR, nothing else written.</summary>
    private uint Refuse(DescriptorChain chain, ulong statusAddress)
    {
        SetStatus(statusAddress, Invalid(chain, $"malformed chain ({chain.Error})"));
        return 1;
    }

    private void SetStatus(ulong statusAddress, byte status)
    {
        if (status == StatusIoErr) Counters.IoErrors.Increment();
        // After a driver reset the request's buffers are the driver's again: leave them alone.
        if (_queue is null || _queue.IsRevoked) return;
        // The address was checked against guest RAM when the chain was walked.
        if (_memory!.TryGetSpan(statusAddress, 1, out var s)) s[0] = status;
    }

    private byte Read(DescriptorChain chain, ulong sector, ulong length, out uint written)
    {
        written = 0;
        Counters.ReadRequests.Increment();
        if (!CheckRange(chain, sector, length)) return StatusIoErr;
        int n = chain.GatherIovecs(_memory!, writable: true, skip: 0, length, _iov);
        long got = Transfer(write: false, n, (long)(sector * BlockBackend.SectorSize), length);
        if (got != (long)length) return HostError("read", sector, length, got);
        Counters.BytesRead.Add(got);
        written = (uint)length;
        return StatusOk;
    }

    private byte Write(DescriptorChain chain, ulong sector, ulong length)
    {
        Counters.WriteRequests.Increment();
        if (_backend.ReadOnly) return Invalid(chain, "write to a read-only disk");
        if (!CheckRange(chain, sector, length)) return StatusIoErr;
        int n = chain.GatherIovecs(_memory!, writable: false, skip: HeaderSize, length, _iov);
        long put = Transfer(write: true, n, (long)(sector * BlockBackend.SectorSize), length);
        if (put != (long)length) return HostError("write", sector, length, put);
        Counters.BytesWritten.Add(put);
        return SyncUnlessFlushNegotiated();
    }

    private byte Flush()
    {
        Counters.FlushRequests.Increment();
        int errno = SyncBackend();
        return errno == 0 ? StatusOk : HostError("flush", 0, 0, -errno);
    }

    /// <summary>
    /// fdatasync through the backend, with a sticky failure: Linux reports a writeback error to
    /// fdatasync once (errseq_t, see Documentation/filesystems/vfs.rst "Handling errors during
    /// writeback") and may drop the dirty pages it could not write, so a later fdatasync can return
    /// 0 although earlier writes never reached the disk. Once one sync has failed, every later one
    /// of this disk reports that failure without asking the kernel again — QEMU's file-posix does
    /// the same (page_cache_inconsistent). Returns 0 or the errno of the first failure.
    /// </summary>
    public int SyncBackend()
    {
        if (_backend.ReadOnly) return 0;
        int failed = Volatile.Read(ref _syncFailure);
        if (failed != 0) return failed;
        int errno = _backend.Flush();
        if (errno != 0)
        {
            Interlocked.CompareExchange(ref _syncFailure, errno, 0);
            _log.Error("virtio-blk: fdatasync of {Path} failed ({Error}): writes may be lost; every later flush of this disk fails",
                _backend.Path, FileIo.Describe(errno));
        }
        return errno;
    }

    public string DurableTarget => _backend.Path;

    /// <summary>The errno of the first failed fdatasync of this disk (0 = none): sticky for its lifetime.</summary>
    public int SyncFailure => Volatile.Read(ref _syncFailure);

    private byte GetId(DescriptorChain chain, ulong length, out uint written)
    {
        written = 0;
        Counters.GetIdRequests.Increment();
        if (length < IdSize) return Invalid(chain, "GET_ID buffer shorter than 20 bytes");
        chain.CopyToWritable(_memory!, 0, _id);
        written = IdSize;
        return StatusOk;
    }

    private byte DiscardOrZero(DescriptorChain chain, uint type, ulong length)
    {
        bool zero = type == TypeWriteZeroes;
        (zero ? Counters.WriteZeroesRequests : Counters.DiscardRequests).Increment();
        if (_backend.ReadOnly) return Invalid(chain, "discard/write-zeroes on a read-only disk");
        if (length == 0 || length % DiscardSegmentSize != 0 || length / DiscardSegmentSize > MaxDiscardSegments)
            return Invalid(chain, "discard/write-zeroes data is not 1..32 16-byte segments");

        // Copy every segment out of guest memory once, then validate and act on the copy only: a
        // vCPU may rewrite the segments while the device works, and a second read would reach
        // fallocate or the zero-fill with an offset that was never checked.
        var segments = _segments.AsSpan(0, (int)length);
        chain.CopyFromReadable(_memory!, HeaderSize, segments);
        for (int off = 0; off < segments.Length; off += DiscardSegmentSize)
        {
            var seg = segments.Slice(off, DiscardSegmentSize);
            ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(seg);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(seg[8..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(seg[12..]);
            // Unknown flags, or unmap on a discard, must be answered UNSUPP (virtio 1.2 §5.2.6.2).
            if ((flags & ~SegmentFlagUnmap) != 0 || (!zero && flags != 0))
            {
                Counters.UnsupportedRequests.Increment();
                return StatusUnsupp;
            }
            if (count > MaxDiscardSectors || !CheckRange(chain, sector, (ulong)count * BlockBackend.SectorSize))
                return StatusIoErr;
        }
        for (int off = 0; off < segments.Length; off += DiscardSegmentSize)
        {
            var seg = segments.Slice(off, DiscardSegmentSize);
            long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(seg) * BlockBackend.SectorSize;
            long bytes = (long)BinaryPrimitives.ReadUInt32LittleEndian(seg[8..]) * BlockBackend.SectorSize;
            bool unmap = (BinaryPrimitives.ReadUInt32LittleEndian(seg[12..]) & SegmentFlagUnmap) != 0;
            if (bytes == 0) continue;
            int errno = zero ? _backend.WriteZeroes(offset, bytes, unmap) : _backend.Discard(offset, bytes);
            if (errno != 0) return HostError(zero ? "write-zeroes" : "discard", (ulong)offset / BlockBackend.SectorSize, (ulong)bytes, -errno);
        }
        return SyncUnlessFlushNegotiated();
    }

    private byte Unsupported(uint type)
    {
        Counters.UnsupportedRequests.Increment();
        _guestLog.Debug("virtio-blk: unsupported request type {Type}", type);
        return StatusUnsupp;
    }

    /// <summary>Without a negotiated FLUSH the driver assumes write-through: make each change durable now.</summary>
    private byte SyncUnlessFlushNegotiated()
    {
        if (_flushNegotiated) return StatusOk;
        int errno = SyncBackend();
        return errno == 0 ? StatusOk : HostError("fdatasync after write", 0, 0, -errno);
    }

    /// <summary>Data must be whole sectors and [sector, sector + len/512) within the capacity, without overflow.</summary>
    private bool CheckRange(DescriptorChain chain, ulong sector, ulong length)
    {
        if (length % BlockBackend.SectorSize != 0)
        {
            Invalid(chain, "data length is not a multiple of 512");
            return false;
        }
        ulong capacity = _backend.CapacitySectors;
        if (sector > capacity || length / BlockBackend.SectorSize > capacity - sector)
        {
            Invalid(chain, "sector range beyond the end of the disk");
            return false;
        }
        return true;
    }

    private byte Invalid(DescriptorChain chain, string why)
    {
        _guestLog.Debug("virtio-blk: request {Head} refused: {Why}", chain.Head, why);
        return StatusIoErr;
    }

    private byte HostError(string op, ulong sector, ulong length, long result)
    {
        Counters.HostErrors.Increment();
        const string failed = "virtio-blk: {Op} of {Length} bytes at sector {Sector} of {Path} failed: {Error}";
        const string shortTransfer = "virtio-blk: short {Op} at sector {Sector} of {Path}: {Done} of {Length} bytes";
        if (result < 0)
        {
            if (_guestLog.Allow(LogEventLevel.Warning, failed))
                _log.Warning(failed,
                    op, length, sector, _backend.Path, FileIo.Describe((int)-result));
        }
        else if (_guestLog.Allow(LogEventLevel.Warning, shortTransfer))
        {
            _log.Warning(shortTransfer, op, sector, _backend.Path, result, length);
        }
        return StatusIoErr;
    }

    /// <summary>
    /// Moves all <paramref name="length"/> bytes of <c>_iov[0..count)</c> at <paramref name="offset"/>.
    /// preadv/pwritev may stop short (a signal, a file-size limit, a disk filling up): a partial
    /// transfer is continued from where it stopped until done, an error, or a call that moves
    /// nothing (end of file, no space). A request is never completed OK with bytes missing.
    /// Returns the bytes moved (== length on success) or -errno.
    /// </summary>
    private long Transfer(bool write, int count, long offset, ulong length)
    {
        int first = 0;
        ulong done = 0;
        while (done < length)
        {
            var iov = _iov.AsSpan(first, count - first);
            long n = write ? _backend.Write(iov, offset + (long)done) : _backend.Read(iov, offset + (long)done);
            if (n <= 0) return n < 0 ? n : (long)done;
            if ((ulong)n > length - done) return -Errno.EIO; // a backend claiming more than it was given
            done += (ulong)n;
            // Skip the bytes already moved: drop whole iovecs, trim the one cut in the middle.
            ulong skip = (ulong)n;
            while (skip > 0 && skip >= _iov[first].Length) skip -= _iov[first++].Length;
            if (skip > 0)
            {
                _iov[first].Base += (nint)skip;
                _iov[first].Length -= (nuint)skip;
            }
        }
        return (long)done;
    }

    /// <summary>The sticky fdatasync failure survives a snapshot: the data it lost is still lost.</summary>
    public void Save(StateWriter w) => w.I32(Volatile.Read(ref _syncFailure));

    public void Restore(ref StateReader r) => Volatile.Write(ref _syncFailure, r.I32());
}
