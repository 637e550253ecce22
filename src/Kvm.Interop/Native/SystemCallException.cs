namespace Csvmm.Host.Native;

/// <summary>A failed system call: which call (and on what) and the errno it returned.</summary>
public class SystemCallException : Exception
{
    public SystemCallException(string call, int errno)
        : base($"{call} failed: {Sys.StrError(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    public string Call { get; }
    public int Errno { get; }
}
