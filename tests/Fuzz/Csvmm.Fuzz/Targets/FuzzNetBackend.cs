using Csvmm.Devices.Virtio.Net;
using Csvmm.Host.Native;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// A TAP stand-in for the net target: frames come from the input (up to <see cref="MaxPending"/>,
/// in preallocated buffers), writes are swallowed. Every iovec the device hands over must lie in
/// guest RAM, except the last RX one (the device's own overflow buffer).
/// </summary>
public sealed unsafe class FuzzNetBackend : INetBackend
{
    public const int MaxPending = 4;
    public const int FrameCapacity = NetProtocol.HeaderSize + NetProtocol.MaxFrameSize + 64;

    private readonly FuzzMemory _memory;
    private readonly byte[][] _frames = new byte[MaxPending][];
    private readonly int[] _lengths = new int[MaxPending];
    private int _head;
    private int _count;

    public FuzzNetBackend(FuzzMemory memory)
    {
        _memory = memory;
        for (int i = 0; i < MaxPending; i++) _frames[i] = new byte[FrameCapacity];
    }

    public int Fd => -1;

    /// <summary>Report an over-long frame as the bytes copied (some kernels' tun) rather than its full length.</summary>
    public bool ReportCopiedLength { get; set; }

    /// <summary>Errno for the next read, then cleared (0 = none).</summary>
    public int NextReadError { get; set; }

    /// <summary>Errno SetOffload returns for non-zero flags (0 = succeed).</summary>
    public int OffloadError { get; set; }

    public void Clear()
    {
        _head = _count = 0;
        NextReadError = 0;
    }

    /// <summary>Queues a frame of <paramref name="length"/> bytes starting with <paramref name="prefix"/>, zero-filled.</summary>
    public void Enqueue(ReadOnlySpan<byte> prefix, int length)
    {
        if (_count == MaxPending) return;
        int slot = (_head + _count) % MaxPending;
        length = Math.Clamp(length, 0, FrameCapacity);
        var f = _frames[slot].AsSpan(0, length);
        f.Clear();
        prefix[..Math.Min(prefix.Length, length)].CopyTo(f);
        _lengths[slot] = length;
        _count++;
    }

    public long Read(ReadOnlySpan<IoVec> iov)
    {
        if (NextReadError != 0)
        {
            int e = NextReadError;
            NextReadError = 0;
            return -e;
        }
        for (int i = 0; i < iov.Length - 1; i++) CheckInGuest(iov[i], "RX");
        if (_count == 0) return -Errno.EAGAIN;
        var frame = _frames[_head].AsSpan(0, _lengths[_head]);
        _head = (_head + 1) % MaxPending;
        _count--;
        int done = 0;
        foreach (var v in iov)
        {
            if (done == frame.Length) break;
            int take = (int)Math.Min(v.Length, (nuint)(frame.Length - done));
            frame.Slice(done, take).CopyTo(new Span<byte>((void*)v.Base, take));
            done += take;
        }
        return ReportCopiedLength ? done : frame.Length;
    }

    public long Write(ReadOnlySpan<IoVec> iov)
    {
        long total = 0;
        foreach (var v in iov)
        {
            CheckInGuest(v, "TX");
            total += (long)v.Length;
        }
        return total;
    }

    public int SetOffload(uint tunFlags) => tunFlags != 0 ? OffloadError : 0;

    private void CheckInGuest(IoVec v, string what)
    {
        if (!_memory.ContainsHost(v.Base, v.Length))
            throw new FuzzInvariantException($"{what} iovec 0x{v.Base:x}+0x{v.Length:x} is outside guest RAM");
    }
}
