namespace Csvmm.Host.Native;

/// <summary>errno values callers outside Kvm.Interop match on.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;

    public static string Describe(int errno) => Sys.StrError(errno);
}
