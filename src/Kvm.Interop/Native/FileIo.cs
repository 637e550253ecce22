using System.Runtime.InteropServices;

namespace Csvmm.Host.Native;

/// <summary>
/// Safe wrappers around the file system calls a disk backend needs (open, fstat, flock, preadv,
/// pwritev, fdatasync, fallocate), for assemblies without unsafe code. Calls never throw: they
/// return the result, or a negative errno (<c>-errno</c>) / an errno (0 = success) as documented.
/// EINTR is retried.
/// </summary>
public static unsafe partial class FileIo
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EWOULDBLOCK = 11;
    public const int EIO = 5;
    public const int EOPNOTSUPP = 95;
    public const int EISDIR = 21;
    public const int EROFS = 30;
    public const int ENOSPC = 28;
    public const int EBADF = 9;

    private const uint S_IFMT = 0xF000;
    private const uint S_IFDIR = 0x4000;
    private const uint S_IFREG = 0x8000;
    private const uint S_IFBLK = 0x6000;
    private const int SeekEnd = 2;

    /// <summary>open(2) with O_CLOEXEC, read-only or read-write. Returns errno (0 on success).</summary>
    public static int TryOpen(string path, bool readOnly, out FileDescriptor? fd)
    {
        int flags = (readOnly ? Sys.O_RDONLY : Sys.O_RDWR) | Sys.O_CLOEXEC;
        while (true)
        {
            int raw = Sys.Open(path, flags, 0);
            if (raw >= 0)
            {
                fd = new FileDescriptor(raw);
                return 0;
            }
            int errno = Sys.LastErrno;
            if (errno == Sys.EINTR) continue;
            fd = null;
            return errno;
        }
    }

    /// <summary>
    /// fstat(2) plus, for block devices, lseek(SEEK_END) for the size. Returns errno (0 on success).
    /// </summary>
    public static int TryGetFileInfo(int fd, out FileKind kind, out long size, out ulong device, out ulong inode)
    {
        // struct stat on x86_64 (144 bytes): st_dev @0, st_ino @8, st_mode u32 @24, st_size @48.
        byte* st = stackalloc byte[144];
        kind = FileKind.Other;
        size = 0;
        device = 0;
        inode = 0;
        if (Fstat(fd, st) != 0) return Sys.LastErrno;
        device = *(ulong*)st;
        inode = *(ulong*)(st + 8);
        uint mode = *(uint*)(st + 24) & S_IFMT;
        size = *(long*)(st + 48);
        kind = mode switch
        {
            S_IFREG => FileKind.Regular,
            S_IFDIR => FileKind.Directory,
            S_IFBLK => FileKind.BlockDevice,
            _ => FileKind.Other,
        };
        if (kind == FileKind.BlockDevice)
        {
            long end = Lseek(fd, 0, SeekEnd);
            if (end < 0) return Sys.LastErrno;
            size = end;
        }
        return 0;
    }

    /// <summary>flock(LOCK_EX or LOCK_SH | LOCK_NB). Returns errno (0 on success; EWOULDBLOCK = held elsewhere).</summary>
    public static int TryLock(int fd, bool exclusive)
    {
        const int LOCK_SH = 1;
        while (true)
        {
            if (Sys.Flock(fd, (exclusive ? Sys.LOCK_EX : LOCK_SH) | Sys.LOCK_NB) == 0) return 0;
            int errno = Sys.LastErrno;
            if (errno != Sys.EINTR) return errno;
        }
    }

    /// <summary>preadv(2): bytes read, or -errno.</summary>
    public static long Preadv(int fd, ReadOnlySpan<IoVec> iov, long offset)
    {
        fixed (IoVec* p = iov)
        {
            while (true)
            {
                nint n = Sys.Preadv(fd, p, iov.Length, offset);
                if (n >= 0) return n;
                int errno = Sys.LastErrno;
                if (errno != Sys.EINTR) return -errno;
            }
        }
    }

    /// <summary>pwritev(2): bytes written, or -errno.</summary>
    public static long Pwritev(int fd, ReadOnlySpan<IoVec> iov, long offset)
    {
        fixed (IoVec* p = iov)
        {
            while (true)
            {
                nint n = Sys.Pwritev(fd, p, iov.Length, offset);
                if (n >= 0) return n;
                int errno = Sys.LastErrno;
                if (errno != Sys.EINTR) return -errno;
            }
        }
    }

    /// <summary>pwrite(2) of a managed buffer: bytes written, or -errno.</summary>
    public static long Pwrite(int fd, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            while (true)
            {
                nint n = Sys.Pwrite(fd, p, (nuint)data.Length, offset);
                if (n >= 0) return n;
                int errno = Sys.LastErrno;
                if (errno != Sys.EINTR) return -errno;
            }
        }
    }

    /// <summary>fdatasync(2). Returns errno (0 on success).</summary>
    public static int Fdatasync(int fd)
    {
        while (true)
        {
            if (Sys.Fdatasync(fd) == 0) return 0;
            int errno = Sys.LastErrno;
            if (errno != Sys.EINTR) return errno;
        }
    }

    /// <summary>fallocate(PUNCH_HOLE | KEEP_SIZE): deallocates, reads back as zeros. Returns errno.</summary>
    public static int PunchHole(int fd, long offset, long length) =>
        Fallocate(fd, Sys.FALLOC_FL_PUNCH_HOLE | Sys.FALLOC_FL_KEEP_SIZE, offset, length);

    /// <summary>fallocate(ZERO_RANGE | KEEP_SIZE): zeroes, keeping the blocks allocated. Returns errno.</summary>
    public static int ZeroRange(int fd, long offset, long length) =>
        Fallocate(fd, Sys.FALLOC_FL_ZERO_RANGE | Sys.FALLOC_FL_KEEP_SIZE, offset, length);

    private static int Fallocate(int fd, int mode, long offset, long length)
    {
        while (true)
        {
            if (Sys.Fallocate(fd, mode, offset, length) == 0) return 0;
            int errno = Sys.LastErrno;
            if (errno != Sys.EINTR) return errno;
        }
    }

    /// <summary>The text for an errno, for messages.</summary>
    public static string Describe(int errno) => Sys.StrError(errno);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int Fstat(int fd, byte* buf);

    [LibraryImport("libc", EntryPoint = "lseek64", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);
}
