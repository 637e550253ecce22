using Csvmm.Host.Native;

namespace Csvmm.Vmm.Api;

/// <summary>
/// A log or metrics destination opened the way Firecracker opens them (open_file_nonblock in
/// src/vmm/src/utils/mod.rs: read-write, created if missing, O_NONBLOCK), so a named pipe without
/// a reader never blocks the VMM. Whole lines only: what a full pipe does not take now is kept
/// (up to <see cref="MaxPendingBytes"/>) and written before the next line, so lines never
/// interleave; beyond that, lines are dropped and counted, as Firecracker counts missed metrics.
/// Thread-safe.
/// </summary>
public sealed class NonBlockingLineFile : IDisposable
{
    public const int MaxPendingBytes = 256 * 1024;

    // include/uapi/asm-generic/fcntl.h
    private const int ORdWr = 0x2;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;
    private const int ONonBlock = 0x800;
    private const int Mode0666 = 0x1B6;
    private const int EAgain = 11;

    private readonly FileDescriptor _fd;
    private readonly Lock _lock = new();
    private byte[] _pending = [];
    private int _pendingCount;
    private long _dropped;

    private NonBlockingLineFile(string path, FileDescriptor fd)
    {
        Path = path;
        _fd = fd;
    }

    public string Path { get; }

    /// <summary>Lines not written: the pending buffer was full, or the file refused them.</summary>
    public long DroppedLines => Interlocked.Read(ref _dropped);

    /// <summary>Opens (creating a regular file if missing; appending to it) or throws <see cref="IOException"/> with errno's text.</summary>
    public static NonBlockingLineFile Open(string path)
    {
        try
        {
            return new NonBlockingLineFile(path, FileDescriptor.Open(path, ORdWr | OCreat | OAppend | ONonBlock, Mode0666));
        }
        catch (SystemCallException e)
        {
            throw new IOException($"{FileIo.Describe(e.Errno)} (os error {e.Errno})");
        }
    }

    /// <summary>Writes one line (it should end with '\n'); false when it was dropped.</summary>
    public bool WriteLine(ReadOnlySpan<byte> line)
    {
        lock (_lock)
        {
            if (!FlushPending())
                return Keep(line);
            int n = Posix.Write(_fd.Fd, line);
            if (n == line.Length) return true;
            if (n < 0)
            {
                if (-n == EAgain) return Keep(line);
                Interlocked.Increment(ref _dropped);
                return false;
            }
            return Keep(line[n..]);
        }
    }

    /// <summary>Writes what is pending; true when nothing is left.</summary>
    private bool FlushPending()
    {
        while (_pendingCount > 0)
        {
            int n = Posix.Write(_fd.Fd, _pending.AsSpan(0, _pendingCount));
            if (n < 0)
            {
                if (-n == EAgain) return false;
                // The file refuses writes (EIO, ENOSPC...): what was pending is lost.
                Interlocked.Increment(ref _dropped);
                _pendingCount = 0;
                return true;
            }
            Buffer.BlockCopy(_pending, n, _pending, 0, _pendingCount - n);
            _pendingCount -= n;
        }
        return true;
    }

    private bool Keep(ReadOnlySpan<byte> rest)
    {
        if (_pendingCount + rest.Length > MaxPendingBytes)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
        if (_pendingCount + rest.Length > _pending.Length)
            Array.Resize(ref _pending, Math.Min(MaxPendingBytes, Math.Max(4096, Math.Max(_pending.Length * 2, _pendingCount + rest.Length))));
        rest.CopyTo(_pending.AsSpan(_pendingCount));
        _pendingCount += rest.Length;
        return true;
    }

    public void Dispose() => _fd.Dispose();
}
