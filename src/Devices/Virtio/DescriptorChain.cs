using Csvmm.Host.Memory;
using Csvmm.Host.Native;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// A walked descriptor chain: its head index and its non-empty buffers in order (readable ones
/// first). Preallocated once per queue and refilled by <see cref="Virtqueue.TryPopChain"/>, so
/// processing a request allocates nothing. It is also the devices' reader and writer of request
/// bytes (<see cref="CopyFromReadable"/>, <see cref="CopyToWritable"/>, <see cref="GatherIovecs"/>):
/// every segment was checked against guest RAM when the chain was walked.
/// </summary>
public sealed class DescriptorChain
{
    private readonly ChainSegment[] _segments;

    public DescriptorChain(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _segments = new ChainSegment[capacity];
    }

    /// <summary>Most segments a chain may have; a longer chain is refused as <see cref="ChainError.ChainTooLong"/>.</summary>
    public int Capacity => _segments.Length;

    /// <summary>Descriptor index to return in the used ring.</summary>
    public ushort Head { get; private set; }

    public int Count { get; private set; }

    public ChainError Error { get; internal set; }

    /// <summary>Total bytes of the device-readable buffers.</summary>
    public ulong ReadableLength { get; private set; }

    /// <summary>Total bytes of the device-writable buffers.</summary>
    public ulong WritableLength { get; private set; }

    /// <summary>Number of leading readable segments (readable segments always precede writable ones).</summary>
    public int ReadableCount { get; private set; }

    public ReadOnlySpan<ChainSegment> Segments => _segments.AsSpan(0, Count);

    // The chain's last non-empty buffer, tracked even past a refused buffer so a refused chain's
    // status byte can still be found; valid only when the walk reached the descriptor without NEXT.
    private ulong _tailAddress;
    private uint _tailLength;
    private bool _tailWritableInRam;
    private bool _endReached;

    /// <summary>
    /// The last byte of the chain when its last non-empty buffer is device-writable and inside guest
    /// RAM, and the walk reached the chain's end (no loop, no out-of-range index) — where virtio-blk
    /// and similar devices put their status byte. Also answers for a refused (<see cref="Error"/>)
    /// chain whose fault lies in a buffer, not in the links.
    /// </summary>
    public bool TryGetLastWritableByte(out ulong address)
    {
        address = _tailAddress + _tailLength - 1;
        return _endReached && _tailWritableInRam;
    }

    public ref readonly ChainSegment this[int index] => ref _segments.AsSpan(0, Count)[index];

    internal void Reset(ushort head)
    {
        Head = head;
        Count = 0;
        Error = ChainError.None;
        ReadableLength = 0;
        WritableLength = 0;
        ReadableCount = 0;
        _tailAddress = 0;
        _tailLength = 0;
        _tailWritableInRam = false;
        _endReached = false;
    }

    internal void SetTail(ulong address, uint length, bool writableInRam)
    {
        _tailAddress = address;
        _tailLength = length;
        _tailWritableInRam = writableInRam;
    }

    internal void MarkEndReached() => _endReached = true;

    internal bool TryAdd(ulong address, uint length, bool writable)
    {
        if (Count == _segments.Length) return false;
        _segments[Count++] = new ChainSegment(address, length, writable);
        if (writable) WritableLength += length;
        else
        {
            ReadableLength += length;
            ReadableCount++;
        }
        return true;
    }

    /// <summary>
    /// Copies readable bytes starting <paramref name="offset"/> bytes into the readable part; fewer
    /// than asked when the chain is shorter. Returns the bytes copied. Guest data is read exactly
    /// once here: validate and use the copy, never the guest's buffer.
    /// </summary>
    public int CopyFromReadable(GuestMemory memory, ulong offset, Span<byte> destination)
    {
        int copied = 0;
        var segments = Segments;
        for (int i = 0; i < ReadableCount && copied < destination.Length; i++)
        {
            var s = segments[i];
            if (offset >= s.Length)
            {
                offset -= s.Length;
                continue;
            }
            int take = (int)Math.Min(s.Length - offset, (ulong)(destination.Length - copied));
            memory.GetSpan(s.Address + offset, take).CopyTo(destination[copied..]);
            copied += take;
            offset = 0;
        }
        return copied;
    }

    /// <summary>Copies <paramref name="source"/> into the writable part, <paramref name="offset"/> bytes in; returns the bytes copied.</summary>
    public int CopyToWritable(GuestMemory memory, ulong offset, ReadOnlySpan<byte> source)
    {
        int copied = 0;
        var segments = Segments;
        for (int i = ReadableCount; i < Count && copied < source.Length; i++)
        {
            var s = segments[i];
            if (offset >= s.Length)
            {
                offset -= s.Length;
                continue;
            }
            int take = (int)Math.Min(s.Length - offset, (ulong)(source.Length - copied));
            source.Slice(copied, take).CopyTo(memory.GetSpan(s.Address + offset, take));
            copied += take;
            offset = 0;
        }
        return copied;
    }

    /// <summary>
    /// Host iovecs for <paramref name="length"/> bytes of the writable (or readable) part, starting
    /// <paramref name="skip"/> bytes in, for a backend to move data straight to or from guest RAM.
    /// Returns the number of iovecs written to <paramref name="iov"/>.
    /// </summary>
    public int GatherIovecs(GuestMemory memory, bool writable, ulong skip, ulong length, Span<IoVec> iov)
    {
        int count = 0;
        var segments = Segments;
        int start = writable ? ReadableCount : 0;
        int end = writable ? Count : ReadableCount;
        for (int i = start; i < end && length > 0; i++)
        {
            var s = segments[i];
            if (skip >= s.Length)
            {
                skip -= s.Length;
                continue;
            }
            ulong take = Math.Min(s.Length - skip, length);
            iov[count++] = HostIovec(memory, s.Address + skip, take);
            length -= take;
            skip = 0;
        }
        return count;
    }

    /// <summary>The host address range of a guest range that was validated when the chain was walked.</summary>
    public static IoVec HostIovec(GuestMemory memory, ulong address, ulong length)
    {
        if (!memory.TryTranslate(address, length, out nint host))
            throw new InvalidOperationException("a validated descriptor left guest memory"); // unreachable
        return new IoVec { Base = host, Length = (nuint)length };
    }
}
