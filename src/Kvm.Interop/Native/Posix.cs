namespace Csvmm.Host.Native;

/// <summary>Safe wrappers over the few plain POSIX calls the VMM layer needs.</summary>
public static unsafe class Posix
{
    public const int StdinFd = 0;
    public const int StdoutFd = 1;
    public const int StderrFd = 2;

    /// <summary>Writes all of <paramref name="data"/> (retrying on EINTR/short writes); false on error.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = Sys.Write(fd, p + done, (nuint)(data.Length - done));
                if (n < 0)
                {
                    int errno = Sys.LastErrno;
                    if (errno == Sys.EINTR) continue;
                    if (errno == Sys.EAGAIN) { Thread.Yield(); continue; }
                    return false;
                }
                done += (int)n;
            }
        }
        return true;
    }

    /// <summary>
    /// One write(2) of <paramref name="data"/> (EINTR retried): the bytes written, possibly fewer
    /// than asked, or -errno (-EAGAIN when a non-blocking pipe is full). Never waits.
    /// </summary>
    public static int Write(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            while (true)
            {
                nint n = Sys.Write(fd, p, (nuint)data.Length);
                if (n >= 0) return (int)n;
                int errno = Sys.LastErrno;
                if (errno == Sys.EINTR) continue;
                return -errno;
            }
        }
    }

    /// <summary>read(2) into <paramref name="buffer"/>: bytes read, 0 at EOF, -errno on error.</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Sys.Read(fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                int errno = Sys.LastErrno;
                if (errno == Sys.EINTR) continue;
                return -errno;
            }
        }
    }

    public static bool IsTerminal(int fd) => Sys.IsATty(fd) == 1;

    public static int CurrentThreadId() => Sys.GetTid();

    /// <summary>Sends <paramref name="signal"/> to one thread of this process.</summary>
    public static void SignalThread(int tid, int signal)
    {
        if (Sys.Tgkill(Sys.GetPid(), tid, signal) != 0)
        {
            int errno = Sys.LastErrno;
            if (errno != 3 /* ESRCH: the thread already ended */)
                throw new SystemCallException($"tgkill {tid}", errno);
        }
    }
}
