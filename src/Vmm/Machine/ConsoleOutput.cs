using Csvmm.Devices.Legacy;
using Csvmm.Host.Native;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// The guest console's output: each UART byte goes straight to the target fd (stdout or a file;
/// one write per byte costs far less than the vCPU exit that produced it, and never hides a prompt
/// that lacks a newline). It also watches for Linux's panic banner, so a panic=1 reset can be told
/// apart from an orderly reboot. Allocation-free.
/// </summary>
public sealed class ConsoleOutput : ISerialSink, IDisposable
{
    private static readonly byte[] PanicBanner = "Kernel panic - not syncing"u8.ToArray();

    private readonly int _fd;
    private readonly FileStream? _file;
    private readonly byte[] _one = new byte[1];
    private int _match;
    private volatile bool _panicSeen;

    private ConsoleOutput(int fd, FileStream? file)
    {
        _fd = fd;
        _file = file;
    }

    public static ConsoleOutput Stdout() => new(Posix.StdoutFd, null);

    public static ConsoleOutput None() => new(-1, null);

    public static ConsoleOutput ToFile(string path)
    {
        var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1);
        return new ConsoleOutput((int)fs.SafeFileHandle.DangerousGetHandle(), fs);
    }

    /// <summary>True once the guest printed "Kernel panic - not syncing".</summary>
    public bool PanicSeen => _panicSeen;

    public long Bytes { get; private set; }

    public void Write(byte value)
    {
        // Several vCPUs may print at once; the lock is uncontended in the common case.
        lock (_one)
        {
            Bytes++;
            Track(value);
            if (_fd < 0) return;
            _one[0] = value;
            Posix.WriteAll(_fd, _one);
        }
    }

    private void Track(byte value)
    {
        if (value == PanicBanner[_match])
        {
            if (++_match == PanicBanner.Length) { _panicSeen = true; _match = 0; }
        }
        else
        {
            _match = value == PanicBanner[0] ? 1 : 0;
        }
    }

    public void Dispose() => _file?.Dispose();
}
