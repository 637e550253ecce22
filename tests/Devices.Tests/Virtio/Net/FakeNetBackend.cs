using Csvmm.Host.Events;
using System.Runtime.InteropServices;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Kvm;
using Csvmm.Host.Native;

namespace Csvmm.Devices.Tests.Virtio.Net;

/// <summary>
/// A TAP stand-in: frames (header included) queued in <see cref="Incoming"/> are read one per call
/// with TAP semantics (the full length is returned even when the iovecs were too short); writes are
/// gathered into <see cref="Written"/>. Its fd is an eventfd a test can signal.
/// </summary>
public sealed unsafe class FakeNetBackend : INetBackend, IDisposable
{
    private readonly EventFd _event = new();

    public Queue<byte[]> Incoming { get; } = new();
    public List<byte[]> Written { get; } = new();
    public List<uint> OffloadCalls { get; } = new();

    public int Reads { get; private set; }

    /// <summary>Errno to return from the next SetOffload calls with non-zero flags (0 = succeed).</summary>
    public int OffloadError { get; set; }

    /// <summary>When set, writes fail with -this errno.</summary>
    public int WriteError { get; set; }

    /// <summary>When set, a write takes only this many bytes (a short write) and reports that.</summary>
    public int ShortWrite { get; set; }

    /// <summary>When set, reads fail with -this errno.</summary>
    public int ReadError { get; set; }

    /// <summary>Report a frame longer than the iovecs as the bytes copied (as this host's tun does) instead of its full length.</summary>
    public bool ReportCopiedLength { get; set; }

    public int Fd => _event.Fd;

    public EventFd Event => _event;

    public void Enqueue(byte[] frameWithHeader) => Incoming.Enqueue(frameWithHeader);

    public long Read(ReadOnlySpan<IoVec> iov)
    {
        Reads++;
        if (ReadError != 0) return -ReadError;
        if (!Incoming.TryDequeue(out var frame)) return -Errno.EAGAIN;
        int done = 0;
        foreach (var v in iov)
        {
            if (done == frame.Length) break;
            int take = Math.Min((int)v.Length, frame.Length - done);
            frame.AsSpan(done, take).CopyTo(new Span<byte>((void*)v.Base, take));
            done += take;
        }
        return ReportCopiedLength ? done : frame.Length;
    }

    public long Write(ReadOnlySpan<IoVec> iov)
    {
        if (WriteError != 0) return -WriteError;
        var bytes = new List<byte>();
        foreach (var v in iov) bytes.AddRange(new ReadOnlySpan<byte>((void*)v.Base, (int)v.Length).ToArray());
        if (ShortWrite != 0 && ShortWrite < bytes.Count) return ShortWrite; // the tail never left
        Written.Add(bytes.ToArray());
        return bytes.Count;
    }

    public int SetOffload(uint tunFlags)
    {
        OffloadCalls.Add(tunFlags);
        return tunFlags != 0 ? OffloadError : 0;
    }

    public void Dispose() => _event.Dispose();
}
