using Csvmm.Host.Native;

namespace Csvmm.Host.Events;

/// <summary>A non-blocking eventfd(2): a counter that ioeventfd/irqfd and the event loop share.</summary>
public sealed unsafe class EventFd : IDisposable
{
    private readonly FileDescriptor _fd;

    public EventFd(bool nonBlocking = true)
    {
        int fd = Sys.EventFd(0, Sys.EFD_CLOEXEC | (nonBlocking ? Sys.EFD_NONBLOCK : 0));
        if (fd < 0) throw new SystemCallException("eventfd", Sys.LastErrno);
        _fd = new FileDescriptor(fd);
    }

    public int Fd => _fd.Fd;

    /// <summary>Adds one to the counter (wakes readers / injects the irqfd interrupt).</summary>
    public void Signal()
    {
        ulong one = 1;
        while (true)
        {
            if (Sys.Write(Fd, &one, 8) == 8) return;
            int errno = Sys.LastErrno;
            if (errno == Sys.EINTR) continue;
            // EAGAIN means the counter is saturated: the reader is already due to wake.
            if (errno == Sys.EAGAIN) return;
            throw new SystemCallException("eventfd write", errno);
        }
    }

    /// <summary>Reads and clears the counter; returns 0 if it was already zero.</summary>
    public ulong Drain()
    {
        ulong value;
        while (true)
        {
            if (Sys.Read(Fd, &value, 8) == 8) return value;
            int errno = Sys.LastErrno;
            if (errno == Sys.EINTR) continue;
            if (errno == Sys.EAGAIN) return 0;
            throw new SystemCallException("eventfd read", errno);
        }
    }

    public void Dispose() => _fd.Dispose();
}
