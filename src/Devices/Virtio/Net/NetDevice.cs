using Csvmm.Host.Events;
using Csvmm.Host.Memory;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Csvmm.Host.Native;
using Csvmm.Devices.Logging;
using Serilog;
using static Csvmm.Devices.Virtio.Net.NetProtocol;

namespace Csvmm.Devices.Virtio.Net;

/// <summary>
/// virtio-net (device ID 1) over an <see cref="INetBackend"/> (a TAP with IFF_VNET_HDR), one rx/tx
/// pair, no control queue (virtio 1.2 §5.1). The 12-byte virtio-net header passes through unchanged both
/// ways (the TAP speaks the same header), except num_buffers, which the device sets on RX.
/// <para>
/// TX: each chain is one frame, written with one writev straight from guest memory and completed
/// with used.len 0; one interrupt per batch. RX: the backend is read only while an RX chain is held
/// (virtio 1.2 §5.1.6.3): a frame is read with readv into the chain's buffers plus a host overflow buffer,
/// so a frame that fits one chain is never copied; with MRG_RXBUF the overflow is scattered over as
/// many further chains as needed. With no buffers the device stops reading the backend and waits for
/// a kick on queue 0; a frame already read stays "deferred" until buffers arrive (Firecracker PR #293).
/// The backend fd is watched edge-triggered on the device thread (<see cref="EventSources"/>), so
/// nothing spins. Each call serves at most <see cref="QueueService.Budget"/> chains, so a frame
/// flood on RX cannot starve TX (or the reverse).
/// </para>
/// Guest mistakes (readable RX buffers, writable TX buffers, headers shorter than 12 bytes, buffers
/// outside RAM) complete that chain with len 0 and bump a counter; the device keeps working.
/// </summary>
public sealed class NetDevice : IVirtioDevice
{
    public const ushort QueueSize = 256;

    private static readonly ushort[] QueueSizes = [QueueSize, QueueSize];

    private readonly INetBackend _backend;
    private readonly ILogger _log;
    private readonly GuestLog _guestLog;
    private readonly ConfigSpace _config = new(ConfigSize);
    private readonly DeviceEventSource[] _eventSources;
    private readonly DescriptorChain _txChain = new(QueueSize);
    private readonly DescriptorChain _rxChain = new(QueueSize);
    private readonly DescriptorChain _mergeChain = new(QueueSize);
    private readonly IoVec[] _iov = new IoVec[QueueSize + 1];

    // Catches the part of a frame beyond the first RX chain; pinned so readv can target it.
    private readonly byte[] _overflow = GC.AllocateArray<byte>(HeaderSize + MaxFrameSize, pinned: true);
    private readonly nint _overflowAddress;
    private readonly ushort[] _mergeHeads = new ushort[QueueSize];
    private readonly uint[] _mergeLengths = new uint[QueueSize];
    private readonly byte[] _numBuffers = new byte[2];

    private GuestMemory? _memory;
    private Virtqueue? _rx;
    private Virtqueue? _tx;
    private IVirtioInterrupt? _interrupt;
    private bool _mergeable;

    // Set by a backend wake-up, cleared when a read finds nothing: the backend is read only while true.
    private volatile bool _backendReadable = true;

    // _rxChain holds a valid, still empty RX chain popped before the backend ran dry.
    private bool _rxChainHeld;

    // A frame spilling over several chains (MRG_RXBUF) that waits for more buffers: its head is in
    // _rxChain, the rest in _overflow; _mergeHeads/_mergeLengths hold the chains filled so far.
    private bool _deferred;
    private int _frameLength;
    private int _frameDelivered;
    private int _firstChainBytes;
    private int _mergeCount;
    private int _mergeSegments;

    /// <param name="backend">Where frames go; the device does not own (dispose) it.</param>
    /// <param name="mac">The guest's address, e.g. <see cref="MacAddress.FromName"/> of the TAP name.</param>
    public NetDevice(INetBackend backend, MacAddress mac, ILogger? log = null)
    {
        if (!mac.IsValidUnicast)
            throw new ArgumentException($"MAC address {mac} is not a unicast address", nameof(mac));
        _backend = backend;
        _log = log ?? Serilog.Core.Logger.None;
        _guestLog = new GuestLog(_log, $"virtio-net {mac}");
        _eventSources = [new DeviceEventSource(backend.Fd, Epoll.In | Epoll.EdgeTriggered)];
        Mac = mac;
        _overflowAddress = Marshal.UnsafeAddrOfPinnedArrayElement(_overflow, 0);

        var c = _config.Bytes;
        mac.CopyTo(c[ConfigMac..]);
        BinaryPrimitives.WriteUInt16LittleEndian(c[ConfigStatus..], StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(c[ConfigMtu..], DefaultMtu);
    }

    /// <summary>
    /// Everything here is implemented: checksum and TSO offloads are the TAP's (the header passes
    /// through), mergeable RX buffers, and the ring features handled by <see cref="Virtqueue"/>.
    /// </summary>
    public ulong OfferedFeatures { get; } = VirtioFeatures.Version1 | VirtioFeatures.IndirectDesc | VirtioFeatures.EventIdx
        | FeatureMac | FeatureStatus | FeatureMtu | FeatureMrgRxbuf
        | FeatureCsum | FeatureHostTso4 | FeatureHostTso6
        | FeatureGuestCsum | FeatureGuestTso4 | FeatureGuestTso6;

    public uint DeviceType => NetProtocol.DeviceType;

    public ReadOnlySpan<ushort> QueueMaxSizes => QueueSizes;

    public MacAddress Mac { get; }

    public NetCounters Counters { get; } = new();

    public INetBackend Backend => _backend;

    /// <summary>
    /// TUN_F_* flags for what the driver accepts on RX (virtio 1.2 §5.1.6.4): GUEST_CSUM → CSUM,
    /// GUEST_TSO4/6 → TSO4/6. TSO without checksum offload is refused by the TAP (EINVAL) and
    /// by the spec's feature dependencies, so it maps to nothing.
    /// </summary>
    public static uint OffloadFlags(ulong negotiatedFeatures)
    {
        if ((negotiatedFeatures & FeatureGuestCsum) == 0) return 0;
        uint flags = TapDevice.OffloadCsum;
        if ((negotiatedFeatures & FeatureGuestTso4) != 0) flags |= TapDevice.OffloadTso4;
        if ((negotiatedFeatures & FeatureGuestTso6) != 0) flags |= TapDevice.OffloadTso6;
        return flags;
    }

    /// <summary>The backend's fd, watched edge-triggered: each wake-up marks it readable and runs RX.</summary>
    public IReadOnlyList<DeviceEventSource> EventSources => _eventSources;

    public int OnEvent(int source, uint events)
    {
        OnBackendReadable();
        return RxQueue;
    }

    /// <summary>The backend may have frames: the next RX processing reads it again.</summary>
    public void OnBackendReadable()
    {
        Counters.BackendWakeups.Increment();
        _backendReadable = true;
    }

    public void ReadConfig(ulong offset, Span<byte> data) => _config.Read(offset, data);

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data)
    {
        // With VERSION_1 the driver cannot write the MAC (only legacy devices allow it).
        _guestLog.Debug("virtio-net: ignored config write at offset {Offset}", offset);
    }

    public void Activate(GuestMemory memory, IReadOnlyList<Virtqueue> queues, ulong negotiatedFeatures, IVirtioInterrupt interrupt)
    {
        if (!queues[RxQueue].IsActive || !queues[TxQueue].IsActive)
            throw new VirtioDeviceException("virtio-net: the driver did not enable both the receive and the transmit queue");

        uint offload = OffloadFlags(negotiatedFeatures);
        int errno = _backend.SetOffload(offload);
        if (errno != 0)
        {
            // Never leave wider offloads from an earlier driver in place: fall back to none.
            _log.Warning("virtio-net: setting TAP offloads 0x{Flags:x} failed: {Error}; using none",
                offload, FileIo.Describe(errno));
            errno = _backend.SetOffload(0);
            if (errno != 0)
                throw new VirtioDeviceException($"virtio-net: clearing TAP offloads failed: {FileIo.Describe(errno)}");
        }

        _memory = memory;
        _rx = queues[RxQueue];
        _tx = queues[TxQueue];
        _interrupt = interrupt;
        _mergeable = (negotiatedFeatures & FeatureMrgRxbuf) != 0;
        ClearRxState();
        // Frames may have queued in the TAP before the driver came up.
        _backendReadable = true;
    }

    public void Reset()
    {
        if (_deferred) Counters.RxDropsNoBuffer.Increment();
        ClearRxState();
        _memory = null;
        _rx = null;
        _tx = null;
        _interrupt = null;
        _mergeable = false;
    }

    /// <summary>
    /// Before a snapshot: an empty RX chain held for the next frame goes back to the ring; a frame
    /// half spread over several chains is dropped and its chains completed empty (the driver
    /// recycles them).
    /// </summary>
    public void Quiesce()
    {
        var q = _rx;
        if (q is null) return;
        if (_deferred)
        {
            for (int i = 0; i < _mergeCount; i++) q.AddUsed(_mergeHeads[i], 0);
            Counters.RxDropsNoBuffer.Increment();
            _interrupt?.NotifyUsed(RxQueue);
        }
        else if (_rxChainHeld)
        {
            q.UnpopLast();
        }
        ClearRxState();
        _backendReadable = true;
    }

    private void ClearRxState()
    {
        _rxChainHeld = false;
        _deferred = false;
        _frameLength = _frameDelivered = _firstChainBytes = _mergeCount = _mergeSegments = 0;
    }

    public bool ProcessQueue(int queueIndex) => queueIndex switch
    {
        RxQueue => ProcessRx(),
        TxQueue => ProcessTx(),
        _ => false,
    };

    // ---- TX ----

    private bool ProcessTx()
    {
        var q = _tx;
        if (q is null || !q.IsActive) return false;
        var handler = new TxHandler(this);
        return QueueService.Drain(q, _txChain, ref handler, _interrupt);
    }

    private readonly struct TxHandler(NetDevice device) : IChainHandler
    {
        public bool Handle(DescriptorChain chain, PopResult result, out uint usedLength)
        {
            if (result == PopResult.Chain) device.Transmit(chain);
            else device.BadTxChain(chain, chain.Error.ToString());
            // TX completes with len 0, and always: a full TX queue must never wait for RX (Firecracker #1436).
            usedLength = 0;
            return true;
        }
    }

    private void Transmit(DescriptorChain chain)
    {
        if (chain.WritableLength != 0)
        {
            BadTxChain(chain, "writable buffer in a transmit chain");
            return;
        }
        if (chain.ReadableLength < HeaderSize)
        {
            BadTxChain(chain, "shorter than the 12-byte header");
            return;
        }
        if (chain.ReadableLength > HeaderSize + MaxFrameSize)
        {
            Counters.TxDropsTooBig.Increment();
            _guestLog.Debug("virtio-net: dropped a {Length}-byte TX frame (larger than {Max})", chain.ReadableLength - HeaderSize, MaxFrameSize);
            return;
        }

        int n = chain.GatherIovecs(_memory!, writable: false, skip: 0, chain.ReadableLength, _iov);
        long put = _backend.Write(_iov.AsSpan(0, n));
        if (put != (long)chain.ReadableLength)
        {
            long errors = Counters.TxBackendErrors.IncrementAndGet();
            if (errors == 1)
                _log.Warning("virtio-net: TAP write of {Length} bytes failed: {Error} (further failures are only counted)",
                    chain.ReadableLength, put < 0 ? FileIo.Describe((int)-put) : $"short write of {put} bytes");
            return;
        }
        Counters.TxFrames.Increment();
        Counters.TxBytes.Add(put - HeaderSize);
    }

    private void BadTxChain(DescriptorChain chain, string why)
    {
        Counters.TxBadChains.Increment();
        _guestLog.Debug("virtio-net: TX chain {Head} refused: {Why}", chain.Head, why);
    }

    // ---- RX ----

    private bool ProcessRx()
    {
        var q = _rx;
        if (q is null || !q.IsActive) return false;
        bool used = false;
        bool more = false;
        int frames = 0;
        while (true)
        {
            if (frames++ >= QueueService.Budget)
            {
                more = true;
                break;
            }
            if (_deferred)
            {
                var step = ContinueMerge(q, ref used);
                if (step == RxStep.Progress) continue;
                if (step == RxStep.Stop) break;
                Counters.RxWaitsForBuffers.Increment();
                if (q.EnableNotification()) continue;
                break;
            }
            if (!_backendReadable) break;
            if (!_rxChainHeld)
            {
                var r = PopRxChain(q, _rxChain, ref used);
                if (r == PopResult.RingCorrupt) break;
                if (r == PopResult.Empty)
                {
                    // Stop reading the backend until queue 0 is kicked: no busy loop.
                    Counters.RxWaitsForBuffers.Increment();
                    if (q.EnableNotification()) continue;
                    break;
                }
                _rxChainHeld = true;
            }
            if (!ReceiveFrame(q, ref used)) break;
        }
        if (used) _interrupt?.NotifyUsed(RxQueue);
        return more;
    }

    private enum RxStep
    {
        /// <summary>The deferred frame was delivered or dropped.</summary>
        Progress,

        /// <summary>No more buffers: wait for a kick.</summary>
        NeedBuffers,

        /// <summary>The ring is corrupt.</summary>
        Stop,
    }

    /// <summary>Pops the next usable RX chain, completing refused ones with len 0.</summary>
    private PopResult PopRxChain(Virtqueue q, DescriptorChain chain, ref bool used)
    {
        while (true)
        {
            var r = q.TryPopChain(chain);
            if (r is PopResult.Empty or PopResult.RingCorrupt) return r;
            string? why = r != PopResult.Chain ? chain.Error.ToString()
                : chain.ReadableCount != 0 ? "readable buffer in a receive chain"
                : chain.WritableLength < HeaderSize ? "fewer than 12 writable bytes"
                : null;
            if (why is null) return PopResult.Chain;
            Counters.RxBadChains.Increment();
            _guestLog.Debug("virtio-net: RX chain {Head} refused: {Why}", chain.Head, why);
            q.AddUsed(chain.Head, 0);
            used = true;
        }
    }

    /// <summary>
    /// Reads one frame into the held chain (and the overflow buffer). False when the backend has
    /// nothing more (or failed): wait for its next wake-up.
    /// </summary>
    private bool ReceiveFrame(Virtqueue q, ref bool used)
    {
        var chain = _rxChain;
        int n = chain.GatherIovecs(_memory!, writable: true, skip: 0, chain.WritableLength, _iov);
        _iov[n++] = new IoVec { Base = _overflowAddress, Length = (nuint)_overflow.Length };

        long got = _backend.Read(_iov.AsSpan(0, n));
        if (got == -Errno.EAGAIN || got == 0)
        {
            _backendReadable = false; // the chain stays held for the next frame
            return false;
        }
        if (got < 0)
        {
            _backendReadable = false;
            long errors = Counters.RxBackendErrors.IncrementAndGet();
            if (errors == 1)
                _log.Warning("virtio-net: TAP read failed: {Error} (further failures are only counted)", FileIo.Describe((int)-got));
            return false;
        }
        if (got < HeaderSize)
        {
            Counters.RxBackendErrors.Increment();
            return true;
        }

        ulong capacity = chain.WritableLength;
        if ((ulong)got <= capacity)
        {
            SetNumBuffers(chain, 1);
            _rxChainHeld = false;
            q.AddUsed(chain.Head, (uint)got);
            used = true;
            CountRxFrame(got);
            return true;
        }
        // Filling every iovec means the frame may have been cut short (tun reports either the full
        // length or the bytes copied, depending on the kernel): treat it as too big as well.
        if (!_mergeable || (ulong)got >= capacity + (ulong)_overflow.Length)
        {
            // Too big for the buffers the driver posts: drop it, return the chain empty.
            Counters.RxDropsTooBig.Increment();
            _guestLog.Debug("virtio-net: dropped a {Length}-byte RX frame; the receive buffer holds {Capacity}", got - HeaderSize, capacity - HeaderSize);
            _rxChainHeld = false;
            q.AddUsed(chain.Head, 0);
            used = true;
            return true;
        }

        // MRG_RXBUF: the first chain is full; spread the rest over further chains.
        _rxChainHeld = false;
        _deferred = true;
        _frameLength = (int)got;
        _firstChainBytes = (int)capacity;
        _frameDelivered = (int)capacity;
        _mergeHeads[0] = chain.Head;
        _mergeLengths[0] = (uint)capacity;
        _mergeCount = 1;
        _mergeSegments = chain.Count;
        return true;
    }

    /// <summary>
    /// Fills further chains with the deferred frame; publishes all of them together once the frame is
    /// complete, with num_buffers in the first header (virtio 1.2 §5.1.6.4).
    /// </summary>
    private RxStep ContinueMerge(Virtqueue q, ref bool used)
    {
        while (_frameDelivered < _frameLength)
        {
            // Every descriptor of the ring is held and the frame still does not fit: the driver can
            // post nothing more, so waiting would stall RX for good.
            if (_mergeSegments >= q.Size)
            {
                for (int i = 0; i < _mergeCount; i++) q.AddUsed(_mergeHeads[i], 0);
                used = true;
                _deferred = false;
                Counters.RxDropsNoBuffer.Increment();
                _guestLog.Debug("virtio-net: dropped a {Length}-byte RX frame: the whole ring is too small", _frameLength - HeaderSize);
                return RxStep.Progress;
            }
            var r = PopRxChain(q, _mergeChain, ref used);
            if (r == PopResult.RingCorrupt) return RxStep.Stop;
            if (r == PopResult.Empty) return RxStep.NeedBuffers;

            int take = (int)Math.Min((ulong)(_frameLength - _frameDelivered), _mergeChain.WritableLength);
            _mergeChain.CopyToWritable(_memory!, 0, _overflow.AsSpan(_frameDelivered - _firstChainBytes, take));
            _mergeHeads[_mergeCount] = _mergeChain.Head;
            _mergeLengths[_mergeCount] = (uint)take;
            _mergeCount++;
            _mergeSegments += _mergeChain.Count;
            _frameDelivered += take;
        }

        SetNumBuffers(_rxChain, (ushort)_mergeCount);
        for (int i = 0; i < _mergeCount; i++) q.AddUsed(_mergeHeads[i], _mergeLengths[i]);
        used = true;
        _deferred = false;
        CountRxFrame(_frameLength);
        return RxStep.Progress;
    }

    private void CountRxFrame(long length)
    {
        Counters.RxFrames.Increment();
        Counters.RxBytes.Add(length - HeaderSize);
    }

    /// <summary>num_buffers is the device's to set: the TAP leaves those two bytes untouched.</summary>
    private void SetNumBuffers(DescriptorChain chain, ushort count)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_numBuffers, count);
        chain.CopyToWritable(_memory!, HeaderNumBuffers, _numBuffers);
    }
}
