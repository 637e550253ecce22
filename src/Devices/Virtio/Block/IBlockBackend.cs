using Csvmm.Host.Native;

namespace Csvmm.Devices.Virtio.Block;

/// <summary>
/// Where a virtio-blk device keeps its sectors: an image file in production (<see cref="BlockBackend"/>),
/// a fault-injecting fake in tests. Calls never throw on I/O failure: they return -errno / errno, and
/// a transfer may move fewer bytes than asked (as preadv/pwritev may); the device retries or fails the
/// request with VIRTIO_BLK_S_IOERR.
/// </summary>
public interface IBlockBackend
{
    /// <summary>The image's path, for log messages.</summary>
    string Path { get; }

    bool ReadOnly { get; }

    /// <summary>Disk size in 512-byte sectors.</summary>
    ulong CapacitySectors { get; }

    /// <summary>st_dev and st_ino of the image, for a stable default serial number.</summary>
    ulong Device { get; }
    ulong Inode { get; }

    /// <summary>Reads into <paramref name="iov"/> at a byte offset: bytes read (possibly fewer than asked; 0 at end of file) or -errno.</summary>
    long Read(ReadOnlySpan<IoVec> iov, long offset);

    /// <summary>Writes <paramref name="iov"/> at a byte offset: bytes written (possibly fewer than asked) or -errno.</summary>
    long Write(ReadOnlySpan<IoVec> iov, long offset);

    /// <summary>Makes earlier writes durable: 0 or errno.</summary>
    int Flush();

    /// <summary>Deallocates a range (a hint): 0 or errno.</summary>
    int Discard(long offset, long length);

    /// <summary>Makes a range read as zeros, deallocating it when <paramref name="unmap"/> allows: 0 or errno.</summary>
    int WriteZeroes(long offset, long length, bool unmap);
}
