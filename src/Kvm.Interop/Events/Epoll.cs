using Csvmm.Host.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Csvmm.Host.Events;

/// <summary>An epoll instance whose registrations carry a caller-chosen 64-bit token.</summary>
public sealed unsafe class Epoll : IDisposable
{
    private readonly FileDescriptor _fd;

    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint EdgeTriggered = 1u << 31;

    public Epoll()
    {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        if (fd < 0) throw new SystemCallException("epoll_create1", Sys.LastErrno);
        _fd = new FileDescriptor(fd);
    }

    public void Add(int fd, uint events, ulong token) => Ctl(EPOLL_CTL_ADD, fd, events, token);

    public void Modify(int fd, uint events, ulong token) => Ctl(EPOLL_CTL_MOD, fd, events, token);

    public void Remove(int fd) => Ctl(EPOLL_CTL_DEL, fd, 0, 0);

    private void Ctl(int op, int fd, uint events, ulong token)
    {
        epoll_event ev = default;
        ev.events = unchecked((int)events);
        ev.data.u64 = token;
        if (epoll_ctl(_fd.Fd, op, fd, &ev) != 0)
            throw new SystemCallException("epoll_ctl", Sys.LastErrno);
    }

    /// <summary>
    /// Waits for events, filling <paramref name="tokens"/> / <paramref name="events"/>; returns the count
    /// (0 on timeout or EINTR). <paramref name="timeoutMs"/> -1 waits forever.
    /// </summary>
    public int Wait(Span<ulong> tokens, Span<uint> events, int timeoutMs)
    {
        int max = Math.Min(tokens.Length, 64);
        epoll_event* evs = stackalloc epoll_event[max];
        int n = epoll_wait(_fd.Fd, evs, max, timeoutMs);
        if (n < 0)
        {
            int errno = Sys.LastErrno;
            if (errno == Sys.EINTR) return 0;
            throw new SystemCallException("epoll_wait", errno);
        }
        for (int i = 0; i < n; i++)
        {
            tokens[i] = evs[i].data.u64;
            events[i] = unchecked((uint)evs[i].events);
        }
        return n;
    }

    public void Dispose() => _fd.Dispose();
}
