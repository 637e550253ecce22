using Csvmm.Host.Native;
using Serilog;

namespace Csvmm.Devices.Virtio.Block;

/// <summary>
/// A raw disk image: a regular file (or block device) opened O_RDWR or O_RDONLY with O_CLOEXEC and
/// locked with flock (exclusive when writable, shared when read-only) so two VMs cannot write one
/// image. The capacity is the whole number of 512-byte sectors; a tail shorter than a sector is
/// inaccessible. I/O methods return -errno / errno instead of throwing: the device turns failures
/// into VIRTIO_BLK_S_IOERR and keeps serving.
/// </summary>
public sealed class BlockBackend : IBlockBackend, IDisposable
{
    public const int SectorSize = 512;

    private static readonly byte[] Zeros = new byte[64 * 1024];

    private FileDescriptor _fd;

    private BlockBackend(string path, FileDescriptor fd, bool readOnly, long size, ulong device, ulong inode)
    {
        Path = path;
        _fd = fd;
        ReadOnly = readOnly;
        SizeBytes = size;
        CapacitySectors = (ulong)size / SectorSize;
        Device = device;
        Inode = inode;
    }

    public string Path { get; }
    public bool ReadOnly { get; }

    /// <summary>File size in bytes.</summary>
    public long SizeBytes { get; }

    /// <summary>Disk size in 512-byte sectors (floor of the file size).</summary>
    public ulong CapacitySectors { get; }

    /// <summary>st_dev and st_ino of the image, for a stable default serial number.</summary>
    public ulong Device { get; }
    public ulong Inode { get; }

    /// <summary>Opens and locks <paramref name="path"/>; throws <see cref="BlockBackendException"/> with a distinct kind per failure.</summary>
    public static BlockBackend Open(string path, bool readOnly, ILogger? log = null)
    {
        log ??= Serilog.Core.Logger.None;
        int errno = FileIo.TryOpen(path, readOnly, out var fd);
        if (errno != 0)
        {
            throw errno switch
            {
                FileIo.ENOENT => new BlockBackendException(BlockBackendError.NotFound, path,
                    $"disk image {path} does not exist", errno),
                FileIo.EACCES or FileIo.EPERM or FileIo.EROFS => new BlockBackendException(BlockBackendError.PermissionDenied, path,
                    $"disk image {path} cannot be opened {(readOnly ? "for reading" : "for writing")}: {FileIo.Describe(errno)}" +
                    (readOnly ? "" : "; attach it read-only or fix its permissions"), errno),
                FileIo.EISDIR => new BlockBackendException(BlockBackendError.IsDirectory, path,
                    $"disk image {path} is a directory, not an image file", errno),
                _ => new BlockBackendException(BlockBackendError.IoError, path,
                    $"disk image {path} cannot be opened: {FileIo.Describe(errno)}", errno),
            };
        }

        try
        {
            errno = FileIo.TryGetFileInfo(fd!.Fd, out var kind, out long size, out ulong device, out ulong inode);
            if (errno != 0)
                throw new BlockBackendException(BlockBackendError.IoError, path,
                    $"disk image {path}: fstat failed: {FileIo.Describe(errno)}", errno);
            if (kind == FileKind.Directory)
                throw new BlockBackendException(BlockBackendError.IsDirectory, path,
                    $"disk image {path} is a directory, not an image file");
            if (kind is not (FileKind.Regular or FileKind.BlockDevice))
                throw new BlockBackendException(BlockBackendError.NotAFile, path,
                    $"disk image {path} is neither a regular file nor a block device");
            if (size < SectorSize)
                throw new BlockBackendException(BlockBackendError.TooSmall, path,
                    size == 0
                        ? $"disk image {path} is empty; create it with a size, e.g. truncate -s 1G {path}"
                        : $"disk image {path} is {size} bytes, smaller than one 512-byte sector");

            errno = FileIo.TryLock(fd.Fd, exclusive: !readOnly);
            if (errno == FileIo.EWOULDBLOCK)
                throw new BlockBackendException(BlockBackendError.InUse, path,
                    $"disk image {path} is in use by another process (it holds a lock on the file); " +
                    "stop the other VM or use a copy of the image", errno);
            if (errno != 0)
                throw new BlockBackendException(BlockBackendError.IoError, path,
                    $"disk image {path} cannot be locked: {FileIo.Describe(errno)}", errno);

            if (size % SectorSize != 0)
                log.Warning("disk image {Path} is {Size} bytes, not a multiple of 512; the last {Tail} bytes are not visible to the guest",
                    path, size, size % SectorSize);
            return new BlockBackend(path, fd, readOnly, size, device, inode);
        }
        catch
        {
            fd!.Dispose();
            throw;
        }
    }

    /// <summary>preadv at a byte offset: bytes read or -errno.</summary>
    public long Read(ReadOnlySpan<IoVec> iov, long offset) => FileIo.Preadv(_fd.Fd, iov, offset);

    /// <summary>pwritev at a byte offset: bytes written or -errno.</summary>
    public long Write(ReadOnlySpan<IoVec> iov, long offset) => FileIo.Pwritev(_fd.Fd, iov, offset);

    /// <summary>fdatasync: 0 or errno.</summary>
    public int Flush() => FileIo.Fdatasync(_fd.Fd);

    /// <summary>Deallocates a range (a hint: unsupported file systems are fine). 0 or errno.</summary>
    public int Discard(long offset, long length)
    {
        int errno = FileIo.PunchHole(_fd.Fd, offset, length);
        return errno == FileIo.EOPNOTSUPP ? 0 : errno;
    }

    /// <summary>
    /// Makes a range read as zeros: punch a hole when <paramref name="unmap"/> is allowed, otherwise
    /// ZERO_RANGE; falls back to writing zeros when the file system supports neither. 0 or errno.
    /// </summary>
    public int WriteZeroes(long offset, long length, bool unmap)
    {
        int errno = ForceZeroFillForTesting ? FileIo.EOPNOTSUPP
            : unmap ? FileIo.PunchHole(_fd.Fd, offset, length) : FileIo.ZeroRange(_fd.Fd, offset, length);
        if (errno != FileIo.EOPNOTSUPP) return errno;
        if (unmap && !ForceZeroFillForTesting)
        {
            errno = FileIo.ZeroRange(_fd.Fd, offset, length);
            if (errno != FileIo.EOPNOTSUPP) return errno;
        }
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, Zeros.Length);
            long n = FileIo.Pwrite(_fd.Fd, Zeros.AsSpan(0, chunk), offset);
            if (n < 0) return (int)-n;
            if (n == 0) return FileIo.ENOSPC;
            offset += n;
            length -= n;
        }
        return 0;
    }

    /// <summary>Test hook: behave as if the file system supported neither PUNCH_HOLE nor ZERO_RANGE.</summary>
    internal bool ForceZeroFillForTesting { get; set; }

    /// <summary>Test hook: swaps the descriptor (e.g. for a read-only one, to provoke host I/O errors).</summary>
    internal void ReplaceDescriptorForTesting(FileDescriptor fd)
    {
        var old = _fd;
        _fd = fd;
        old.Dispose();
    }

    public void Dispose() => _fd.Dispose(); // closing the last descriptor releases the flock
}
