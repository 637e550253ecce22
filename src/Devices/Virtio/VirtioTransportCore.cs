using Csvmm.Devices.Logging;
using Csvmm.Devices.State;
using Csvmm.Host.Events;
using Csvmm.Host.Memory;
using Serilog;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// The half of a virtio transport that does not depend on how registers are laid out: feature
/// negotiation, the device-status state machine, queue set-up, interrupt status, and bringing the
/// device up and down on its own thread (virtio 1.2 §2, §3.1). virtio-mmio and virtio-pci are thin
/// register decoders in front of one of these; a device never knows which one carries it.
/// <para>
/// Threads. vCPU threads call the register methods; they take <c>_state</c> for a few field
/// updates and never wait for device work. Everything the device does — activation at DRIVER_OK,
/// reset, queue processing — runs on the device thread (<see cref="IDeviceThread"/>), in order.
/// A reset revokes the current <see cref="VirtioActivation"/> at once, so a request still in flight
/// on the device thread can finish its host I/O but can no longer publish into the rings the driver
/// took back (<see cref="QueueGuard"/>).
/// </para>
/// Without a device thread (<see cref="BindThread"/> never called: unit tests, fuzzing) the work
/// runs inline on the caller.
/// </summary>
public sealed class VirtioTransportCore : ISnapshotDevice, IDisposable
{
    /// <summary>Interrupt status bits (virtio-mmio InterruptStatus, virtio 1.2 §4.2.2; PCI ISR, §4.1.4.5).</summary>
    public const uint InterruptUsedBuffer = 1;
    public const uint InterruptConfigChange = 2;

    private static readonly IVirtioSignal NoSignal = new NullSignal();

    private readonly Lock _state = new();
    private readonly IVirtioDevice _device;
    private readonly GuestMemory _memory;
    private readonly ILogger _log;
    private readonly GuestLog _guestLog;
    private readonly QueueRegisters[] _queues;
    private readonly QueueCounters[] _queueCounters;
    private readonly EventFd[] _queueEvents;
    private readonly ulong _offered;
    private IVirtioSignal _signal = NoSignal;
    private IDeviceThread? _thread;

    private uint _status;
    private ulong _driverFeatures;
    private int _configGeneration;
    private int _interruptStatus;
    private int _generation;
    private VirtioActivation? _active;      // the vCPUs' view, under _state
    private VirtioActivation? _deviceView;  // the device thread's view

    /// <param name="name">How log lines name the device, e.g. <c>virtio-blk vda</c>.</param>
    public VirtioTransportCore(IVirtioDevice device, GuestMemory memory, ILogger? log = null, string? name = null)
    {
        _device = device;
        _memory = memory;
        _log = log ?? Serilog.Core.Logger.None;
        Name = name ?? $"virtio device {device.DeviceType}";
        _guestLog = new GuestLog(_log, Name);
        _offered = device.OfferedFeatures | VirtioFeatures.Version1;
        var sizes = device.QueueMaxSizes;
        _queues = new QueueRegisters[sizes.Length];
        _queueCounters = new QueueCounters[sizes.Length];
        _queueEvents = new EventFd[sizes.Length];
        try
        {
            for (int i = 0; i < sizes.Length; i++)
            {
                if (sizes[i] == 0 || (sizes[i] & (sizes[i] - 1)) != 0 || sizes[i] > 32768)
                    throw new ArgumentException($"queue {i}: size {sizes[i]} is not a power of two up to 32768", nameof(device));
                _queues[i] = new QueueRegisters(sizes[i]);
                _queueCounters[i] = new QueueCounters();
                _queueEvents[i] = new EventFd();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }

    public IVirtioDevice Device => _device;

    public GuestMemory Memory => _memory;

    public ILogger Log => _log;

    /// <summary>Rate-limited logging for guest-caused messages of this device.</summary>
    public GuestLog GuestLog => _guestLog;

    public TransportCounters Counters { get; } = new();

    public int QueueCount => _queues.Length;

    /// <summary>Per queue index; they survive resets.</summary>
    public IReadOnlyList<QueueCounters> QueueCounters => _queueCounters;

    /// <summary>The queue's notification eventfd: a KVM ioeventfd target, watched by the device thread.</summary>
    public EventFd QueueEvent(int index) => _queueEvents[index];

    /// <summary>The transport that delivers this device's interrupts.</summary>
    public void BindSignal(IVirtioSignal signal) => _signal = signal;

    /// <summary>From now on device work runs on <paramref name="thread"/> instead of inline.</summary>
    public void BindThread(IDeviceThread thread) => _thread = thread;

    private volatile bool _holdNotifications;

    /// <summary>
    /// Set by a device thread that polls the rings (<see cref="VirtioDeviceWorker"/>): queues of
    /// later activations hold their notification requests (<see cref="Virtqueue.HoldNotifications"/>)
    /// until the thread calls <see cref="ArmNotifications"/> before it sleeps.
    /// </summary>
    public bool HoldNotifications
    {
        get => _holdNotifications;
        set => _holdNotifications = value;
    }

    // ------------------------------------------------------------------ registers (vCPU threads)

    public uint DeviceType => _device.DeviceType;

    public ulong OfferedFeatures => _offered;

    public uint Status
    {
        get { lock (_state) return _status; }
    }

    /// <summary>Lock-free view of DRIVER_OK, for counting runtime register accesses.</summary>
    public bool DriverOk => (Volatile.Read(ref _status) & VirtioStatus.DriverOk) != 0;

    public uint InterruptStatus => (uint)Volatile.Read(ref _interruptStatus);

    public int ConfigGeneration => Volatile.Read(ref _configGeneration);

    public ulong NegotiatedFeatures
    {
        get { lock (_state) return (_status & VirtioStatus.FeaturesOk) != 0 ? _driverFeatures : 0; }
    }

    /// <summary>DRIVER_OK was accepted and the device has not asked for a reset since.</summary>
    public bool IsActivated
    {
        get { lock (_state) return _active is not null && (_status & VirtioStatus.DeviceNeedsReset) == 0; }
    }

    /// <summary>The live queues of the current activation (empty when not activated).</summary>
    public IReadOnlyList<Virtqueue> ActiveQueues
    {
        get { lock (_state) return _active?.Queues ?? []; }
    }

    /// <summary>32 bits of the offered features; words beyond 1 are zero.</summary>
    public uint ReadDeviceFeatures(uint select) => select switch
    {
        0 => (uint)_offered,
        1 => (uint)(_offered >> 32),
        _ => 0,
    };

    public uint ReadDriverFeatures(uint select)
    {
        lock (_state)
            return select switch { 0 => (uint)_driverFeatures, 1 => (uint)(_driverFeatures >> 32), _ => 0 };
    }

    /// <summary>Sets 32 bits of the driver's features; refused (false) once FEATURES_OK is set.</summary>
    public bool WriteDriverFeatures(uint select, uint value, out string refusal)
    {
        lock (_state)
        {
            refusal = "";
            if ((_status & (VirtioStatus.FeaturesOk | VirtioStatus.DriverOk | VirtioStatus.Failed)) != 0)
                refusal = "driver features written after FEATURES_OK";
            else if (select == 0) _driverFeatures = (_driverFeatures & 0xFFFF_FFFF_0000_0000UL) | value;
            else if (select == 1) _driverFeatures = (_driverFeatures & 0xFFFF_FFFFUL) | ((ulong)value << 32);
            else if (value != 0) refusal = "driver feature word beyond 1";
            return refusal.Length == 0;
        }
    }

    public ushort QueueMaxSize(uint queue) => queue < (uint)_queues.Length ? _queues[queue].MaxSize : (ushort)0;

    public ushort QueueSize(uint queue)
    {
        lock (_state) return queue < (uint)_queues.Length ? _queues[queue].Size : (ushort)0;
    }

    public bool QueueReady(uint queue)
    {
        lock (_state) return queue < (uint)_queues.Length && _queues[queue].Ready;
    }

    public ulong QueueAddress(uint queue, QueueArea area)
    {
        lock (_state)
        {
            if (queue >= (uint)_queues.Length) return 0;
            var q = _queues[queue];
            return area switch { QueueArea.DescriptorTable => q.DescTable, QueueArea.Driver => q.DriverArea, _ => q.DeviceArea };
        }
    }

    /// <summary>
    /// Sets a queue's size; refused outside the set-up window or while the queue is ready. A size
    /// above the maximum is kept as 0 and refused again at DRIVER_OK.
    /// </summary>
    public bool WriteQueueSize(uint queue, uint value, out string refusal)
    {
        lock (_state)
        {
            if (!InQueueSetupWindow(queue, out var q, out refusal)) return false;
            q.Size = value > q.MaxSize ? (ushort)0 : (ushort)value;
            return true;
        }
    }

    /// <summary>Sets the low or high 32 bits of one of a queue's three ring addresses.</summary>
    public bool WriteQueueAddress(uint queue, QueueArea area, bool high, uint value, out string refusal)
    {
        lock (_state)
        {
            if (!InQueueSetupWindow(queue, out var q, out refusal)) return false;
            ulong current = area switch { QueueArea.DescriptorTable => q.DescTable, QueueArea.Driver => q.DriverArea, _ => q.DeviceArea };
            ulong updated = high
                ? (current & 0xFFFF_FFFFUL) | ((ulong)value << 32)
                : (current & 0xFFFF_FFFF_0000_0000UL) | value;
            switch (area)
            {
                case QueueArea.DescriptorTable: q.DescTable = updated; break;
                case QueueArea.Driver: q.DriverArea = updated; break;
                default: q.DeviceArea = updated; break;
            }
            return true;
        }
    }

    /// <summary>QueueReady / queue_enable.</summary>
    public bool WriteQueueReady(uint queue, bool ready, out string refusal)
    {
        lock (_state)
        {
            refusal = "";
            if (!InSetupWindow(out refusal)) return false;
            if (queue >= (uint)_queues.Length)
            {
                refusal = "queue register for a missing queue";
                return false;
            }
            _queues[queue].Ready = ready;
            return true;
        }
    }

    /// <summary>
    /// Queue registers are accepted only after FEATURES_OK and before DRIVER_OK (virtio 1.2 §3.1.1
    /// orders queue set-up between the two), and not while the queue is ready (§4.2.2.2).
    /// </summary>
    private bool InQueueSetupWindow(uint queue, out QueueRegisters q, out string refusal)
    {
        q = null!;
        if (!InSetupWindow(out refusal)) return false;
        if (queue >= (uint)_queues.Length)
        {
            refusal = "queue register for a missing queue";
            return false;
        }
        q = _queues[queue];
        if (q.Ready)
        {
            refusal = "queue configuration while the queue is ready";
            return false;
        }
        return true;
    }

    private bool InSetupWindow(out string refusal)
    {
        refusal = "";
        if ((_status & (VirtioStatus.FeaturesOk | VirtioStatus.DriverOk | VirtioStatus.Failed)) != VirtioStatus.FeaturesOk)
            refusal = "queue register outside the FEATURES_OK..DRIVER_OK window";
        return refusal.Length == 0;
    }

    /// <summary>A driver notification for <paramref name="queue"/> written to a register (not through an ioeventfd).</summary>
    public bool Notify(uint queue)
    {
        if (queue >= (uint)_queueEvents.Length) return false;
        // The same eventfd as the ioeventfd path, so both converge on the device thread.
        _queueEvents[queue].Signal();
        return true;
    }

    /// <summary>virtio-mmio InterruptACK: clears the given interrupt status bits.</summary>
    public void AcknowledgeInterrupt(uint bits) => Interlocked.And(ref _interruptStatus, ~(int)bits);

    /// <summary>virtio-pci ISR status: reading returns and clears the bits (virtio 1.2 §4.1.4.5).</summary>
    public uint ReadAndClearInterruptStatus() => (uint)Interlocked.Exchange(ref _interruptStatus, 0);

    /// <summary>Device configuration space, read with the access's own width (virtio 1.2 §4.2.2.2).</summary>
    public void ReadConfig(ulong offset, Span<byte> data) => _device.ReadConfig(offset, data);

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data) => _device.WriteConfig(offset, data);

    /// <summary>The device-status register (virtio 1.2 §2.1, §3.1.1); 0 resets the device.</summary>
    public void WriteStatus(uint value)
    {
        Action? work;
        string? warning;
        lock (_state) work = WriteStatusLocked(value, out warning);
        if (warning is not null) _guestLog.Warning("{Device}: {Problem}", Name, warning);
        if (work is not null) Dispatch(work);
    }

    private Action? WriteStatusLocked(uint value, out string? warning)
    {
        warning = null;
        if (value == 0) return ResetLocked();

        uint old = _status;
        // DEVICE_NEEDS_RESET belongs to the device: the driver can neither set nor clear it.
        uint deviceBits = old & VirtioStatus.DeviceNeedsReset;
        value &= ~VirtioStatus.DeviceNeedsReset;
        uint driverOld = old & ~VirtioStatus.DeviceNeedsReset;
        if ((driverOld & ~value) != 0)
        {
            warning = $"driver tried to clear status bits 0x{driverOld & ~value:x} without a reset; ignored";
            return null;
        }
        uint added = value & ~driverOld;

        if ((added & VirtioStatus.FeaturesOk) != 0 && !FeaturesAcceptable(value, out string why))
        {
            // Not latching FEATURES_OK is how a device refuses a feature set (virtio 1.2 §3.1.1 step 6).
            warning = $"refusing FEATURES_OK: {why}";
            value &= ~VirtioStatus.FeaturesOk;
            added &= ~VirtioStatus.FeaturesOk;
        }
        if ((added & VirtioStatus.DriverOk) != 0 && (value & VirtioStatus.FeaturesOk) == 0)
        {
            warning = "DRIVER_OK without FEATURES_OK; ignored";
            value &= ~VirtioStatus.DriverOk;
            added &= ~VirtioStatus.DriverOk;
        }
        _status = value | deviceBits;
        if ((added & VirtioStatus.DriverOk) == 0 || deviceBits != 0) return null;

        var activation = PrepareActivationLocked(out string? failure);
        if (activation is null)
        {
            warning = $"needs reset: {failure}";
            SetNeedsResetLocked();
            return null;
        }
        _active = activation;
        return () => ActivateOnDeviceThread(activation);
    }

    private bool FeaturesAcceptable(uint status, out string reason)
    {
        reason = "";
        if ((status & (VirtioStatus.Acknowledge | VirtioStatus.Driver)) != (VirtioStatus.Acknowledge | VirtioStatus.Driver))
            reason = "ACKNOWLEDGE and DRIVER are not both set";
        else if ((_driverFeatures & ~_offered) != 0)
            reason = $"driver accepted features 0x{_driverFeatures & ~_offered:x} that were not offered";
        else if ((_driverFeatures & VirtioFeatures.Version1) == 0)
            reason = "driver did not accept VIRTIO_F_VERSION_1 (required: csvmm has no legacy interface)";
        return reason.Length == 0;
    }

    /// <summary>Turns the ready queues' registers into live queues, each checked against guest RAM.</summary>
    private VirtioActivation? PrepareActivationLocked(out string? failure)
    {
        failure = null;
        var guard = new QueueGuard();
        var queues = new Virtqueue[_queues.Length];
        for (int i = 0; i < _queues.Length; i++)
        {
            var r = _queues[i];
            var q = new Virtqueue(i, r.MaxSize, _log, _queueCounters[i], guard)
            {
                Size = r.Size,
                DescTableAddress = r.DescTable,
                AvailRingAddress = r.DriverArea,
                UsedRingAddress = r.DeviceArea,
                Ready = r.Ready,
                HoldNotifications = _holdNotifications,
            };
            if (r.Ready && !q.TryActivate(_memory, _driverFeatures, out string reason))
            {
                failure = reason;
                return null;
            }
            queues[i] = q;
        }
        return new VirtioActivation(this, ++_generation, queues, _driverFeatures, guard);
    }

    private Action ResetLocked()
    {
        Counters.DeviceResets.Increment();
        _active?.Guard.Revoke();
        _active = null;
        foreach (var q in _queues) q.Reset();
        // Kicks from before the reset must not reach the next life of the queues.
        foreach (var e in _queueEvents) e.Drain();
        _status = 0;
        _driverFeatures = 0;
        Interlocked.Exchange(ref _interruptStatus, 0);
        return ResetOnDeviceThread;
    }

    private void SetNeedsResetLocked()
    {
        if ((_status & VirtioStatus.DeviceNeedsReset) != 0) return;
        _status |= VirtioStatus.DeviceNeedsReset;
        // With DRIVER_OK set the device must announce it with a configuration interrupt (virtio 1.2 §2.1.2).
        if ((_status & VirtioStatus.DriverOk) != 0) RaiseConfigInterrupt();
    }

    // ------------------------------------------------------------------ device thread

    private void Dispatch(Action work)
    {
        if (_thread is { } t) t.Post(work);
        else work();
    }

    private void ActivateOnDeviceThread(VirtioActivation a)
    {
        if (a.Guard.IsRevoked) return; // a reset overtook it
        try
        {
            _device.Activate(_memory, a.Queues, a.Features, a);
            a.DeviceActive = true;
            _deviceView = a;
            _log.Debug("{Device}: activated with features 0x{Features:x}", Name, a.Features);
        }
        catch (Exception e)
        {
            NeedsReset(a, $"device activation failed: {e.Message}");
        }
    }

    private void ResetOnDeviceThread()
    {
        _deviceView = null;
        try
        {
            _device.Reset();
        }
        catch (Exception e)
        {
            _log.Error(e, "{Device}: device reset failed", Name);
        }
    }

    /// <summary>
    /// Runs the device's handler for <paramref name="queueIndex"/> on the calling (device) thread.
    /// Never throws: a device exception or a corrupt ring sets DEVICE_NEEDS_RESET. Returns true
    /// when the device stopped with work left (its budget per call ran out): call it again after
    /// serving the other queues and devices.
    /// </summary>
    public bool ProcessQueue(int queueIndex)
    {
        var a = _deviceView;
        if (a is null || !a.DeviceActive || a.Guard.IsRevoked || (uint)queueIndex >= (uint)a.Queues.Length) return false;
        var q = a.Queues[queueIndex];
        if (!q.IsActive || q.IsBroken) return false;
        bool more;
        try
        {
            more = _device.ProcessQueue(queueIndex);
        }
        catch (Exception e)
        {
            _log.Debug(e, "{Device}: queue {Queue} processing failed", Name, queueIndex);
            NeedsReset(a, $"queue {queueIndex} processing failed: {e.Message}");
            return false;
        }
        if (q.IsBroken)
        {
            NeedsReset(a, q.BrokenReason ?? "queue broken");
            return false;
        }
        return more;
    }

    /// <summary>
    /// One of the device's own event sources fired (e.g. its TAP became readable). Returns the
    /// queue the device wants processed now, or -1.
    /// </summary>
    public int DeviceEvent(int source, uint events)
    {
        try
        {
            return _device.OnEvent(source, events);
        }
        catch (Exception e)
        {
            _log.Debug(e, "{Device}: event source {Source} failed", Name, source);
            if (_deviceView is { } a) NeedsReset(a, $"event source {source} failed: {e.Message}");
            return -1;
        }
    }

    /// <summary>
    /// Device thread, while polling: whether a queue that ran empty (its notification request held)
    /// got buffers since; such queues are marked in <paramref name="pending"/>.
    /// </summary>
    public bool HeldQueuesHaveBuffers(Span<bool> pending)
    {
        var queues = LiveQueues();
        bool found = false;
        for (int q = 0; q < queues.Length && q < pending.Length; q++)
        {
            if (!queues[q].HeldWithBuffers) continue;
            pending[q] = true;
            found = true;
        }
        return found;
    }

    /// <summary>
    /// Device thread, before it sleeps: performs the notification requests its queues held
    /// (<see cref="Virtqueue.ArmNotification"/>). Queues whose buffers arrived meanwhile are marked
    /// in <paramref name="pending"/>; returns true if any did (serve them instead of sleeping).
    /// </summary>
    public bool ArmNotifications(Span<bool> pending)
    {
        var queues = LiveQueues();
        bool arrived = false;
        for (int q = 0; q < queues.Length && q < pending.Length; q++)
        {
            if (!queues[q].ArmNotification()) continue;
            pending[q] = true;
            arrived = true;
        }
        return arrived;
    }

    private Virtqueue[] LiveQueues() =>
        _deviceView is { DeviceActive: true } a && !a.Guard.IsRevoked ? a.Queues : [];

    /// <summary>Called on the device thread when it consumed a notification for <paramref name="queueIndex"/>.</summary>
    public void CountNotification(int queueIndex) => _queueCounters[queueIndex].Notifications.Increment();

    private void NeedsReset(VirtioActivation a, string reason)
    {
        lock (_state)
        {
            if (!ReferenceEquals(_active, a) || (_status & VirtioStatus.DeviceNeedsReset) != 0) return;
            SetNeedsResetLocked();
        }
        _guestLog.Warning("{Device}: needs reset: {Reason}", Name, reason);
    }

    internal void RaiseQueueInterrupt(int queueIndex, VirtioActivation a)
    {
        if (a.Guard.IsRevoked) return;
        // Status bit before the edge: a virtio-mmio driver reads InterruptStatus first (virtio 1.2 §4.2.3.4).
        Interlocked.Or(ref _interruptStatus, (int)InterruptUsedBuffer);
        _signal.SignalQueue(queueIndex);
    }

    internal void NotifyConfigChanged(VirtioActivation a)
    {
        if (a.Guard.IsRevoked) return;
        Interlocked.Increment(ref _configGeneration);
        RaiseConfigInterrupt();
    }

    private void RaiseConfigInterrupt()
    {
        Interlocked.Or(ref _interruptStatus, (int)InterruptConfigChange);
        _signal.SignalConfig();
    }

    /// <summary>On the device thread before a snapshot: the device gives back chains it holds.</summary>
    public void Quiesce()
    {
        if (_deviceView is { DeviceActive: true }) _device.Quiesce();
    }

    /// <summary>
    /// Transport state for a snapshot (status, features, queue registers, ring positions, interrupt
    /// status) and the device's own. The VM is paused and the device quiesced.
    /// </summary>
    public void Save(StateWriter w)
    {
        lock (_state)
        {
            w.U32(_status);
            w.U64(_driverFeatures);
            w.I32(Volatile.Read(ref _configGeneration));
            w.I32(Volatile.Read(ref _interruptStatus));
            foreach (var q in _queues)
            {
                w.U16(q.Size);
                w.U64(q.DescTable);
                w.U64(q.DriverArea);
                w.U64(q.DeviceArea);
                w.Bool(q.Ready);
            }
            w.Bool(_active is not null);
            if (_active is { } a)
            {
                foreach (var q in a.Queues)
                {
                    var (lastAvail, nextUsed, signalled, valid) = q.Position;
                    w.U16(lastAvail);
                    w.U16(nextUsed);
                    w.U16(signalled);
                    w.Bool(valid);
                }
            }
        }
        w.Section(d => (_device as ISnapshotDevice)?.Save(d));
    }

    /// <summary>
    /// Puts a freshly built transport into the saved state. An activated device is activated again
    /// here, on the calling thread, before its device thread starts, with its rings re-validated
    /// against guest memory (a tampered snapshot cannot point a ring outside RAM).
    /// </summary>
    public void Restore(ref StateReader r)
    {
        VirtioActivation? activation = null;
        lock (_state)
        {
            _status = r.U32();
            _driverFeatures = r.U64();
            Volatile.Write(ref _configGeneration, r.I32());
            Volatile.Write(ref _interruptStatus, r.I32());
            foreach (var q in _queues)
            {
                ushort size = r.U16();
                q.Size = size <= q.MaxSize ? size : throw new StateFormatException($"{Name}: queue size {size} above {q.MaxSize}");
                q.DescTable = r.U64();
                q.DriverArea = r.U64();
                q.DeviceArea = r.U64();
                q.Ready = r.Bool();
            }
            if (r.Bool())
            {
                activation = PrepareActivationLocked(out string? failure)
                    ?? throw new StateFormatException($"{Name}: the saved queues do not validate: {failure}");
                foreach (var q in activation.Queues)
                    q.Position = (r.U16(), r.U16(), r.U16(), r.Bool());
                _active = activation;
            }
        }
        var device = r.Section();
        if (_device is ISnapshotDevice snapshot) snapshot.Restore(ref device);
        device.End(Name);
        if (activation is not null)
        {
            ActivateOnDeviceThread(activation);
            if (!activation.DeviceActive) throw new StateFormatException($"{Name}: the device refused its saved activation");
        }
    }

    /// <summary>After a restore: a kick for every queue and an interrupt, so nothing in flight at the snapshot waits forever.</summary>
    public void KickAfterRestore()
    {
        foreach (var e in _queueEvents) e.Signal();
        if (_active is { } a)
            for (int q = 0; q < a.Queues.Length; q++)
                if (a.Queues[q].IsActive) RaiseQueueInterrupt(q, a);
    }

    /// <summary>A refused register access: counted, and logged at debug level within the rate limit.</summary>
    public void Invalid(string transport, string what, ulong offset)
    {
        Counters.InvalidRegisterAccesses.Increment();
        _guestLog.Debug("{Transport}: ignored {What} at offset 0x{Offset:x}", transport, what, offset);
    }

    public void Dispose()
    {
        foreach (var e in _queueEvents) e?.Dispose();
    }

    private sealed class NullSignal : IVirtioSignal
    {
        public void SignalQueue(int queueIndex) { }
        public void SignalConfig() { }
    }
}
