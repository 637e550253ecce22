using Microsoft.Win32.SafeHandles;

namespace Csvmm.Host.Native;

/// <summary>An owned Linux file descriptor, closed exactly once.</summary>
public sealed class FileDescriptor : SafeHandleZeroOrMinusOneIsInvalid
{
    public FileDescriptor(int fd) : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>The raw descriptor; valid while this object is alive.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Sys.Close((int)handle) == 0;

    /// <summary>
    /// Opens <paramref name="path"/> or throws a <see cref="SystemCallException"/> naming the path and errno.
    /// fd 0 is valid for open(2), but we never close stdin, so the zero-is-invalid rule is harmless.
    /// </summary>
    public static FileDescriptor Open(string path, int flags, int mode = 0)
    {
        int fd = Sys.Open(path, flags | Sys.O_CLOEXEC, mode);
        if (fd < 0)
            throw new SystemCallException($"open {path}", Sys.LastErrno);
        return new FileDescriptor(fd);
    }
}
