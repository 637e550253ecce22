using Csvmm.Host.Memory;
using Csvmm.Kvm;
using Serilog;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// The device side of a split virtqueue (virtio 1.2 §2.7). The transport writes the
/// driver's configuration (size, the three ring addresses, ready); <see cref="TryActivate"/> checks
/// it once at DRIVER_OK. After that, every guest-written value (indices, descriptors) is treated as
/// hostile: each is checked before use and nothing outside guest RAM is ever touched. Not thread-safe:
/// one thread processes a queue at a time (the transport serialises processing and reset).
/// </summary>
public sealed class Virtqueue
{
    private const ushort DescFlagNext = 1;
    private const ushort DescFlagWrite = 2;
    private const ushort DescFlagIndirect = 4;
    private const ushort AvailFlagNoInterrupt = 1;
    private const int DescriptorSize = 16;

    private readonly ILogger _log;
    private GuestMemory? _memory;
    private bool _eventIdx;
    private bool _indirect;
    private ushort _lastAvail;
    private ushort _nextUsed;
    private ushort _signalledUsed;
    private bool _signalledValid;

    /// <param name="counters">Statistics to add to; a transport passes the same set to every activation of a queue index.</param>
    /// <param name="guard">
    /// When the transport can revoke this queue (a driver reset) while the device thread still works
    /// on it: every write to the ring happens under the guard's lock and only while it is not
    /// revoked, so a reset never races with a publication into rings the driver has taken back.
    /// </param>
    public Virtqueue(int index, ushort maxSize, ILogger? log = null, QueueCounters? counters = null, QueueGuard? guard = null)
    {
        if (maxSize == 0 || (maxSize & (maxSize - 1)) != 0 || maxSize > 32768)
            throw new ArgumentOutOfRangeException(nameof(maxSize), "queue size must be a power of two no larger than 32768");
        Index = index;
        MaxSize = maxSize;
        Size = maxSize;
        _log = log ?? Serilog.Core.Logger.None;
        Counters = counters ?? new QueueCounters();
        _guard = guard ?? QueueGuard.Never;
    }

    private readonly QueueGuard _guard;

    public int Index { get; }

    /// <summary>QueueNumMax: the largest size the driver may choose.</summary>
    public ushort MaxSize { get; }

    /// <summary>QueueNum as written by the driver (defaults to the maximum).</summary>
    public ushort Size { get; set; }

    public ulong DescTableAddress { get; set; }

    /// <summary>The driver area (available ring).</summary>
    public ulong AvailRingAddress { get; set; }

    /// <summary>The device area (used ring).</summary>
    public ulong UsedRingAddress { get; set; }

    /// <summary>QueueReady as written by the driver.</summary>
    public bool Ready { get; set; }

    /// <summary>True between a successful <see cref="TryActivate"/> and <see cref="Reset"/>.</summary>
    public bool IsActive => _memory is not null;

    /// <summary>
    /// The transport took this queue back (a driver reset): nothing more may be written to its
    /// rings, nor to the buffers of requests still in flight.
    /// </summary>
    public bool IsRevoked => _guard.IsRevoked;

    /// <summary>The ring was found corrupt; the queue processes nothing more until reset.</summary>
    public bool IsBroken { get; private set; }

    public string? BrokenReason { get; private set; }

    public QueueCounters Counters { get; }

    /// <summary>The device's private copy of the next available index to consume.</summary>
    public ushort LastAvail
    {
        get => _lastAvail;
        internal set => _lastAvail = value;
    }

    /// <summary>The next used index the device will publish.</summary>
    public ushort NextUsed
    {
        get => _nextUsed;
        internal set
        {
            _nextUsed = value;
            _signalledUsed = value;
        }
    }

    /// <summary>The device-side ring indices, for a snapshot.</summary>
    public (ushort LastAvail, ushort NextUsed, ushort SignalledUsed, bool SignalledValid) Position
    {
        get => (_lastAvail, _nextUsed, _signalledUsed, _signalledValid);
        set => (_lastAvail, _nextUsed, _signalledUsed, _signalledValid) = value;
    }

    /// <summary>
    /// Gives the most recently popped chain back to the ring (it will be popped again): for a
    /// device that must not hold a chain across a snapshot. Only valid for the last pop.
    /// </summary>
    public void UnpopLast() => _lastAvail--;

    private ulong UsedEventAddress => AvailRingAddress + 4 + 2UL * Size;
    private ulong AvailEventAddress => UsedRingAddress + 4 + 8UL * Size;

    /// <summary>
    /// Validates the driver's configuration against guest RAM (virtio 1.2 §2.7: sizes, alignment) and makes the
    /// queue live with the negotiated ring features. False (with a reason) leaves it inactive.
    /// </summary>
    public bool TryActivate(GuestMemory memory, ulong negotiatedFeatures, out string reason)
    {
        ulong n = Size;
        if (n == 0 || (n & (n - 1)) != 0 || n > MaxSize)
            reason = $"queue {Index}: size {n} is not a power of two between 1 and {MaxSize}";
        else if (DescTableAddress % 16 != 0 || AvailRingAddress % 2 != 0 || UsedRingAddress % 4 != 0)
            reason = $"queue {Index}: ring addresses 0x{DescTableAddress:x}/0x{AvailRingAddress:x}/0x{UsedRingAddress:x} " +
                     "are not aligned to 16/2/4";
        else if (!memory.IsValidRange(DescTableAddress, DescriptorSize * n))
            reason = $"queue {Index}: descriptor table 0x{DescTableAddress:x}+0x{DescriptorSize * n:x} is outside guest RAM";
        else if (!memory.IsValidRange(AvailRingAddress, 6 + 2 * n))
            reason = $"queue {Index}: available ring 0x{AvailRingAddress:x}+0x{6 + 2 * n:x} is outside guest RAM";
        else if (!memory.IsValidRange(UsedRingAddress, 6 + 8 * n))
            reason = $"queue {Index}: used ring 0x{UsedRingAddress:x}+0x{6 + 8 * n:x} is outside guest RAM";
        else
        {
            reason = "";
            _memory = memory;
            _eventIdx = (negotiatedFeatures & VirtioFeatures.EventIdx) != 0;
            _indirect = (negotiatedFeatures & VirtioFeatures.IndirectDesc) != 0;
            _lastAvail = 0;
            _nextUsed = 0;
            _signalledUsed = 0;
            _signalledValid = false;
            _armPending = false;
            IsBroken = false;
            BrokenReason = null;
            return true;
        }
        return false;
    }

    /// <summary>Back to the reset state: not ready, not active, default size, indices zero.</summary>
    public void Reset()
    {
        _memory = null;
        Ready = false;
        Size = MaxSize;
        DescTableAddress = AvailRingAddress = UsedRingAddress = 0;
        _lastAvail = _nextUsed = _signalledUsed = 0;
        _signalledValid = false;
        _armPending = false;
        _eventIdx = _indirect = false;
        IsBroken = false;
        BrokenReason = null;
    }

    /// <summary>
    /// Takes the next available chain and walks it into <paramref name="chain"/>. Never throws on
    /// guest input: a malformed chain is <see cref="PopResult.BadChain"/> (return its head), a corrupt
    /// ring is <see cref="PopResult.RingCorrupt"/> (the queue stops).
    /// </summary>
    public PopResult TryPopChain(DescriptorChain chain)
    {
        var mem = _memory;
        if (mem is null || IsBroken || _guard.IsRevoked) return PopResult.Empty;

        // Acquire: ring entries and descriptors are read only after avail.idx (virtio 1.2 §2.7.13.3,
        // "Updating idx": the driver's write barrier before idx pairs with this acquire).
        ushort availIdx = Volatile.Read(ref mem.GetRef<ushort>(AvailRingAddress + 2));
        ushort pending = (ushort)(availIdx - _lastAvail);
        if (pending == 0) return PopResult.Empty;
        if (pending > Size)
            return Break($"avail.idx {availIdx} is {pending} entries ahead of last_avail {_lastAvail}, more than the queue size {Size}");

        ushort head = mem.Read<ushort>(AvailRingAddress + 4 + 2UL * (ulong)(_lastAvail & (Size - 1)));
        if (head >= Size)
            return Break($"available ring entry {_lastAvail} names descriptor {head}, beyond the queue size {Size}");
        _lastAvail++;

        chain.Reset(head);
        chain.Error = Walk(mem, chain, head);
        if (chain.Error == ChainError.None)
        {
            Counters.Requests.Increment();
            return PopResult.Chain;
        }
        Counters.BadChains.Increment();
        _log.Debug("virtqueue {Queue}: chain at head {Head} refused: {Error}", Index, head, chain.Error);
        return PopResult.BadChain;
    }

    private ChainError Walk(GuestMemory mem, DescriptorChain chain, ushort head)
    {
        ulong table = DescTableAddress;
        uint tableEntries = Size;
        bool inIndirect = false;
        bool seenWritable = false;
        uint index = head;
        // The spec forbids chains of more buffers than the queue size, indirect tables included
        // (virtio 1.2 §2.7.5.3.1). The indirect descriptor itself is not a buffer: Linux fills a
        // table of exactly queue-size entries (seg_max + 2) for its largest requests. A separate
        // step budget per table catches loops.
        int budget = Size;
        int buffers = 0;
        // A bad buffer (outside RAM, readable after writable) refuses the chain, but the walk goes on
        // along the links so the device can still find the status byte and fail the request
        // (DescriptorChain.TryGetLastWritableByte); a bad link (index, loop, indirect) ends it at once.
        var bufferError = ChainError.None;

        while (true)
        {
            if (budget-- == 0) return ChainError.ChainTooLong;

            // Copy the descriptor once: the guest may change it while we look at it.
            if (!mem.TryGetSpan(table + (ulong)index * DescriptorSize, DescriptorSize, out var d))
                return ChainError.IndirectTableOutsideMemory; // cannot happen for the main table (checked at activation)
            ulong addr = BitConverter.ToUInt64(d);
            uint len = BitConverter.ToUInt32(d[8..]);
            ushort flags = BitConverter.ToUInt16(d[12..]);
            ushort next = BitConverter.ToUInt16(d[14..]);

            if ((flags & DescFlagIndirect) != 0)
            {
                if (!_indirect) return ChainError.IndirectNotNegotiated;
                if (inIndirect) return ChainError.NestedIndirect;
                if ((flags & DescFlagNext) != 0) return ChainError.IndirectWithNext;
                if (len == 0 || len % DescriptorSize != 0) return ChainError.IndirectBadLength;
                if (!mem.IsValidRange(addr, len)) return ChainError.IndirectTableOutsideMemory;
                table = addr;
                tableEntries = len / DescriptorSize;
                inIndirect = true;
                index = 0;
                budget = (int)Math.Min(tableEntries, int.MaxValue);
                continue;
            }

            if (++buffers > Size) return ChainError.ChainTooLong;
            bool writable = (flags & DescFlagWrite) != 0;
            if (!writable && seenWritable && bufferError == ChainError.None) bufferError = ChainError.ReadableAfterWritable;
            seenWritable |= writable;

            // Zero-length buffers are legal but empty; anything else must lie wholly inside one RAM region.
            if (len != 0)
            {
                bool inRam = mem.IsValidRange(addr, len);
                if (!inRam && bufferError == ChainError.None) bufferError = ChainError.BufferOutsideMemory;
                if (bufferError == ChainError.None && !chain.TryAdd(addr, len, writable)) return ChainError.ChainTooLong;
                chain.SetTail(addr, len, writable && inRam);
            }

            if ((flags & DescFlagNext) == 0)
            {
                chain.MarkEndReached();
                return bufferError;
            }
            if (next >= tableEntries) return ChainError.NextOutOfRange;
            index = next;
        }
    }

    /// <summary>
    /// The device cannot complete a chain it was given (e.g. a request without a locatable status
    /// byte): the queue stops like a corrupt ring, and the transport sets DEVICE_NEEDS_RESET.
    /// </summary>
    public void MarkBroken(string reason) => Break(reason);

    private PopResult Break(string reason)
    {
        IsBroken = true;
        BrokenReason = reason;
        Counters.RingErrors.Increment();
        _log.Warning("virtqueue {Queue}: {Reason}; the device needs a reset", Index, reason);
        return PopResult.RingCorrupt;
    }

    /// <summary>
    /// Publishes a used element: element first, then a release store of used.idx (virtio 1.2 §2.7.8,
    /// "The Virtqueue Used Ring": the idx update must follow the element).
    /// <paramref name="length"/> is the number of bytes written into the chain's writable buffers.
    /// </summary>
    public void AddUsed(ushort head, uint length)
    {
        var mem = _memory;
        if (mem is null) return;
        lock (_guard.Lock)
        {
            if (_guard.IsRevoked) return;
            ulong elem = UsedRingAddress + 4 + 8UL * (ulong)(_nextUsed & (Size - 1));
            mem.Write(elem, (uint)head);
            mem.Write(elem + 4, length);
            _nextUsed++;
            Volatile.Write(ref mem.GetRef<ushort>(UsedRingAddress + 2), _nextUsed);
        }
    }

    /// <summary>
    /// Whether the driver wants an interrupt for the used entries published since the last call
    /// (virtio 1.2 §2.7.7, "Used Buffer Notification Suppression"): with EVENT_IDX, only when used.idx passed used_event; otherwise unless
    /// avail.flags has NO_INTERRUPT. Call after <see cref="AddUsed"/>.
    /// </summary>
    public bool NeedsInterrupt()
    {
        var mem = _memory;
        if (mem is null) return false;
        // used.idx was stored before this load of used_event/avail.flags (Cloud Hypervisor PR #897).
        Interlocked.MemoryBarrier();
        ushort newUsed = _nextUsed;
        ushort old = _signalledUsed;
        bool valid = _signalledValid;
        if (valid && newUsed == old) return false;
        _signalledUsed = newUsed;
        _signalledValid = true;

        if (_eventIdx)
        {
            if (!valid) return true;
            ushort usedEvent = Volatile.Read(ref mem.GetRef<ushort>(UsedEventAddress));
            return (ushort)(newUsed - usedEvent - 1) < (ushort)(newUsed - old);
        }
        ushort flags = Volatile.Read(ref mem.GetRef<ushort>(AvailRingAddress));
        return (flags & AvailFlagNoInterrupt) == 0;
    }

    /// <summary>
    /// Set by a device thread that polls the ring after it runs empty
    /// (<see cref="VirtioDeviceWorker"/>): <see cref="EnableNotification"/> then only looks for new
    /// buffers and leaves avail_event behind, so the driver, seeing no request for a kick, adds
    /// buffers without one (no vCPU exit) while the thread still polls; the thread calls
    /// <see cref="ArmNotification"/> before it sleeps. Without EVENT_IDX there is nothing to hold.
    /// </summary>
    public bool HoldNotifications { get; set; }

    private bool _armPending;

    /// <summary>
    /// Call before going idle on an empty ring. With EVENT_IDX it writes avail_event = last_avail so
    /// the driver kicks for the next buffer, then re-reads avail.idx after a full barrier. Returns true
    /// when buffers arrived in between: keep processing instead of sleeping (virtio 1.2 §2.7.10,
    /// "Available Buffer Notification Suppression"). Under <see cref="HoldNotifications"/> the write
    /// is left to <see cref="ArmNotification"/>.
    /// </summary>
    public bool EnableNotification()
    {
        var mem = _memory;
        if (mem is null || IsBroken) return false;
        if (HoldNotifications && _eventIdx)
        {
            _armPending = true;
            return Volatile.Read(ref mem.GetRef<ushort>(AvailRingAddress + 2)) != _lastAvail;
        }
        return WriteAvailEventAndCheck(mem);
    }

    /// <summary>
    /// Does the avail_event write a held <see cref="EnableNotification"/> left undone, before the
    /// device thread sleeps. Returns true when buffers arrived meanwhile: process them first.
    /// </summary>
    public bool ArmNotification()
    {
        var mem = _memory;
        if (!_armPending || mem is null || IsBroken) return false;
        _armPending = false;
        return WriteAvailEventAndCheck(mem);
    }

    /// <summary>
    /// The ring ran empty with its notification request held, and the driver has published buffers
    /// since: a polling device thread serves them without a kick. A single read of avail.idx.
    /// </summary>
    public bool HeldWithBuffers => _armPending && _memory is { } mem && !IsBroken
        && Volatile.Read(ref mem.GetRef<ushort>(AvailRingAddress + 2)) != _lastAvail;

    private bool WriteAvailEventAndCheck(GuestMemory mem)
    {
        if (_eventIdx)
        {
            lock (_guard.Lock)
            {
                if (_guard.IsRevoked) return false;
                Volatile.Write(ref mem.GetRef<ushort>(AvailEventAddress), _lastAvail);
            }
        }
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref mem.GetRef<ushort>(AvailRingAddress + 2)) != _lastAvail;
    }
}
