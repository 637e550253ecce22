using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Csvmm.Host.Native;

/// <summary>
/// Puts a terminal into raw mode (like cfmakeraw, but keeping output post-processing so host log
/// lines still start at column 0) and restores the saved settings exactly once.
/// </summary>
public sealed unsafe class Terminal : IDisposable
{
    private readonly int _fd;
    private termios _saved;
    private int _restored;

    private Terminal(int fd, termios saved)
    {
        _fd = fd;
        _saved = saved;
    }

    /// <summary>Raw mode on <paramref name="fd"/> if it is a terminal; null otherwise.</summary>
    public static Terminal? TryEnterRawMode(int fd)
    {
        if (!Posix.IsTerminal(fd)) return null;
        termios t;
        if (tcgetattr(fd, &t) != 0) return null;
        var saved = t;
        t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.c_cflag &= ~(CSIZE | PARENB);
        t.c_cflag |= CS8;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(fd, (int)TCSANOW, &t) != 0) return null;
        return new Terminal(fd, saved);
    }

    /// <summary>Restores the saved settings; safe to call from any thread, any number of times.</summary>
    public void Restore()
    {
        if (Interlocked.Exchange(ref _restored, 1) != 0) return;
        var saved = _saved;
        tcsetattr(_fd, (int)TCSANOW, &saved);
    }

    public void Dispose() => Restore();
}
