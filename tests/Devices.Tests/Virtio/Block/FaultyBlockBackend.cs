using Csvmm.Devices.Virtio.Block;
using Csvmm.Host.Native;

namespace Csvmm.Devices.Tests.Virtio.Block;

/// <summary>
/// An in-memory disk that fails on demand, to drive the device's error paths: an errno per
/// operation, transfers cut to at most <see cref="MaxBytesPerCall"/> bytes (short reads/writes), or
/// a disk that fills up after <see cref="SpaceLeft"/> more bytes (short write, then ENOSPC or 0).
/// </summary>
public sealed unsafe class FaultyBlockBackend : IBlockBackend
{
    public FaultyBlockBackend(int sizeBytes = 1 << 20, bool readOnly = false)
    {
        Bytes = new byte[sizeBytes];
        for (int i = 0; i < Bytes.Length; i++) Bytes[i] = (byte)(i * 13 + (i >> 9));
        ReadOnly = readOnly;
    }

    public byte[] Bytes { get; }

    public string Path => "faulty.img";
    public bool ReadOnly { get; }
    public ulong CapacitySectors => (ulong)Bytes.Length / BlockBackend.SectorSize;
    public ulong Device => 1;
    public ulong Inode => 2;

    /// <summary>When non-zero, reads fail with -this errno.</summary>
    public int ReadError { get; set; }

    /// <summary>When non-zero, writes fail with -this errno.</summary>
    public int WriteError { get; set; }

    /// <summary>When non-zero, fdatasync fails with this errno.</summary>
    public int FlushError { get; set; }

    /// <summary>When non-zero, discard and write-zeroes fail with this errno.</summary>
    public int ZeroError { get; set; }

    /// <summary>Most bytes one read or write call moves (a short transfer when the request is larger).</summary>
    public int MaxBytesPerCall { get; set; } = int.MaxValue;

    /// <summary>Bytes that may still be written; when it runs out, writes return <see cref="FullResult"/>.</summary>
    public long SpaceLeft { get; set; } = long.MaxValue;

    /// <summary>What a write returns once no space is left: -ENOSPC, or 0 (no progress).</summary>
    public long FullResult { get; set; } = -Errno.ENOSPC;

    /// <summary>Reads stop here, as at the end of a file that shrank (0 bytes = end of file).</summary>
    public long ReadableBytes { get; set; } = long.MaxValue;

    /// <summary>Claim more bytes than asked on every write (a broken backend).</summary>
    public bool OverReport { get; set; }

    public int ReadCalls { get; private set; }
    public int WriteCalls { get; private set; }

    public long Read(ReadOnlySpan<IoVec> iov, long offset)
    {
        ReadCalls++;
        if (ReadError != 0) return -ReadError;
        long end = Math.Min(ReadableBytes, Bytes.Length);
        if (offset >= end) return 0;
        return Copy(iov, offset, (int)Math.Min(MaxBytesPerCall, end - offset), toDisk: false);
    }

    public long Write(ReadOnlySpan<IoVec> iov, long offset)
    {
        WriteCalls++;
        if (WriteError != 0) return -WriteError;
        if (SpaceLeft == 0) return FullResult;
        long n = Copy(iov, offset, (int)Math.Min(MaxBytesPerCall, SpaceLeft), toDisk: true);
        SpaceLeft -= n;
        return OverReport ? n + 512 : n;
    }

    private long Copy(ReadOnlySpan<IoVec> iov, long offset, int limit, bool toDisk)
    {
        long done = 0;
        foreach (var v in iov)
        {
            int take = (int)Math.Min((long)v.Length, Math.Min(limit - done, Bytes.Length - offset - done));
            if (take <= 0) break;
            var guest = new Span<byte>((void*)v.Base, take);
            var disk = Bytes.AsSpan((int)(offset + done), take);
            if (toDisk) guest.CopyTo(disk);
            else disk.CopyTo(guest);
            done += take;
        }
        return done;
    }

    public int FlushCalls { get; private set; }

    public int Flush()
    {
        FlushCalls++;
        return FlushError;
    }

    public int Discard(long offset, long length) => ZeroError;

    public int WriteZeroes(long offset, long length, bool unmap)
    {
        if (ZeroError != 0) return ZeroError;
        Bytes.AsSpan((int)offset, (int)length).Clear();
        return 0;
    }
}
