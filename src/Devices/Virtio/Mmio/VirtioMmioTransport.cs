using Csvmm.Host.Events;
using Csvmm.Host.Memory;
using System.Buffers.Binary;
using Csvmm.Devices.Bus;
using Csvmm.Kvm;
using Serilog;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// virtio-mmio version 2 (modern only) in front of one <see cref="IVirtioDevice"/> (virtio 1.2 §4.2;
/// REFERENCE 3). Occupies a <see cref="WindowSize"/> window on the MMIO bus; offsets are relative
/// to its base. Owns the register state machine, feature negotiation, queue configuration, one
/// eventfd per queue (register it with KVM_IOEVENTFD at base + 0x50, len 4, datamatch = queue index)
/// and the interrupt status. vCPU threads call Read/Write; the I/O thread calls <see cref="ProcessQueue"/>.
/// A lock serialises configuration, reset and processing, so a reset (Status = 0) returns only when
/// no request is in flight; InterruptStatus/ACK and QueueNotify stay lock-free.
/// </summary>
public sealed class VirtioMmioTransport : IBusDevice, IVirtioInterrupt, IDisposable
{
    /// <summary>Size of the MMIO window to register (Linux's virtio_mmio.device=4K@...).</summary>
    public const ulong WindowSize = 0x1000;

    /// <summary>Offset of QueueNotify, for KVM_IOEVENTFD (base + this, len 4, datamatch = queue index).</summary>
    public const ulong QueueNotifyOffset = MmioRegisters.QueueNotify;

    private readonly Lock _lock = new();
    private readonly IVirtioDevice _device;
    private readonly GuestMemory _memory;
    private readonly IInterruptLine _irq;
    private readonly ILogger _log;
    private readonly Virtqueue[] _queues;
    private readonly EventFd[] _queueEvents;
    private readonly ulong _offered;

    private uint _status;
    private bool _activated;
    private uint _deviceFeaturesSel;
    private uint _driverFeaturesSel;
    private uint _queueSel;
    private ulong _driverFeatures;
    private int _interruptStatus;
    private int _configGeneration;
    private long _invalidAccesses;
    private long _runtimeAccesses;

    public VirtioMmioTransport(IVirtioDevice device, GuestMemory memory, IInterruptLine interrupt, ILogger? log = null)
    {
        _device = device;
        _memory = memory;
        _irq = interrupt;
        _log = log ?? Serilog.Core.Logger.None;
        _offered = device.OfferedFeatures | VirtioFeatures.Version1;
        var sizes = device.QueueMaxSizes;
        _queues = new Virtqueue[sizes.Length];
        _queueEvents = new EventFd[sizes.Length];
        try
        {
            for (int i = 0; i < sizes.Length; i++)
            {
                _queues[i] = new Virtqueue(i, sizes[i], _log);
                _queueEvents[i] = new EventFd();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IVirtioDevice Device => _device;

    public int QueueCount => _queues.Length;

    public IReadOnlyList<Virtqueue> Queues => _queues;

    /// <summary>The eventfd the I/O thread waits on for queue <paramref name="index"/>; also the KVM_IOEVENTFD fd.</summary>
    public EventFd QueueEvent(int index) => _queueEvents[index];

    public uint Status
    {
        get { lock (_lock) return _status; }
    }

    public uint InterruptStatus => (uint)Volatile.Read(ref _interruptStatus);

    public ulong NegotiatedFeatures
    {
        get { lock (_lock) return (_status & VirtioStatus.FeaturesOk) != 0 ? _driverFeatures : 0; }
    }

    public bool IsActivated
    {
        get { lock (_lock) return _activated; }
    }

    /// <summary>Register accesses of the wrong width or alignment, or to a missing queue/feature word.</summary>
    public long InvalidAccesses => Interlocked.Read(ref _invalidAccesses);

    /// <summary>
    /// Register accesses made while DRIVER_OK is set: each one is a vCPU exit caused by running I/O
    /// (interrupt status/ack, config reads), not by probing. QueueNotify through ioeventfd never gets here.
    /// </summary>
    public long RuntimeAccesses => Interlocked.Read(ref _runtimeAccesses);

    private void CountAccess()
    {
        if ((Volatile.Read(ref _status) & VirtioStatus.DriverOk) != 0) Interlocked.Increment(ref _runtimeAccesses);
    }

    public void Read(ulong offset, Span<byte> data)
    {
        CountAccess();
        if (offset >= MmioRegisters.Config)
        {
            // Device-specific fields are read with their own width (REFERENCE 3.1).
            if (data.Length is 1 or 2 or 4) _device.ReadConfig(offset - MmioRegisters.Config, data);
            else
            {
                data.Clear();
                Invalid("config read", offset, data.Length);
            }
            return;
        }
        if (data.Length != 4 || offset % 4 != 0)
        {
            data.Clear(); // every byte must be filled, even for a refused access
            Invalid("register read", offset, data.Length);
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(data, ReadRegister(offset));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        CountAccess();
        if (offset >= MmioRegisters.Config)
        {
            if (data.Length is 1 or 2 or 4)
                lock (_lock) _device.WriteConfig(offset - MmioRegisters.Config, data);
            else Invalid("config write", offset, data.Length);
            return;
        }
        if (data.Length != 4 || offset % 4 != 0)
        {
            Invalid("register write", offset, data.Length);
            return;
        }
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(data);
        switch (offset)
        {
            case MmioRegisters.QueueNotify:
                // Same eventfd as the ioeventfd path, so both converge on the I/O thread.
                if (value < (uint)_queueEvents.Length) _queueEvents[value].Signal();
                else Invalid("QueueNotify for a missing queue", offset, (int)value);
                return;
            case MmioRegisters.InterruptAck:
                Interlocked.And(ref _interruptStatus, ~(int)value);
                return;
        }
        lock (_lock) WriteRegisterLocked(offset, value);
    }

    private uint ReadRegister(ulong offset)
    {
        switch (offset)
        {
            case MmioRegisters.MagicValue: return MmioRegisters.Magic;
            case MmioRegisters.Version: return MmioRegisters.VersionModern;
            case MmioRegisters.DeviceId: return _device.DeviceType;
            case MmioRegisters.VendorId: return MmioRegisters.Vendor;
            case MmioRegisters.InterruptStatus: return InterruptStatus;
            case MmioRegisters.ConfigGeneration: return (uint)Volatile.Read(ref _configGeneration);
        }
        lock (_lock)
        {
            switch (offset)
            {
                case MmioRegisters.DeviceFeatures:
                    return _deviceFeaturesSel switch
                    {
                        0 => (uint)_offered,
                        1 => (uint)(_offered >> 32),
                        _ => 0,
                    };
                case MmioRegisters.QueueNumMax:
                    return _queueSel < (uint)_queues.Length ? _queues[_queueSel].MaxSize : 0u;
                case MmioRegisters.QueueReady:
                    return _queueSel < (uint)_queues.Length && _queues[_queueSel].Ready ? 1u : 0u;
                case MmioRegisters.Status:
                    return _status;
                default:
                    return 0; // write-only or unknown registers read as zero
            }
        }
    }

    private void WriteRegisterLocked(ulong offset, uint value)
    {
        switch (offset)
        {
            case MmioRegisters.DeviceFeaturesSel:
                _deviceFeaturesSel = value;
                return;
            case MmioRegisters.DriverFeaturesSel:
                _driverFeaturesSel = value;
                return;
            case MmioRegisters.DriverFeatures:
                WriteDriverFeatures(value);
                return;
            case MmioRegisters.QueueSel:
                _queueSel = value;
                return;
            case MmioRegisters.Status:
                WriteStatus(value);
                return;
            case MmioRegisters.QueueReady:
                if (InQueueSetupWindow(offset, out var rq)) rq.Ready = value == 1;
                return;
        }

        if (!InQueueSetupWindow(offset, out var q)) return;
        if (q.Ready)
        {
            // The driver must not change a live queue's configuration (virtio 1.2 §4.2.2.2).
            Invalid("queue configuration while QueueReady is 1", offset, 4);
            return;
        }
        switch (offset)
        {
            case MmioRegisters.QueueNum:
                q.Size = (ushort)Math.Min(value, ushort.MaxValue);
                if (value > q.MaxSize) q.Size = 0; // refused again at activation
                return;
            case MmioRegisters.QueueDescLow: q.DescTableAddress = SetLow(q.DescTableAddress, value); return;
            case MmioRegisters.QueueDescHigh: q.DescTableAddress = SetHigh(q.DescTableAddress, value); return;
            case MmioRegisters.QueueDriverLow: q.AvailRingAddress = SetLow(q.AvailRingAddress, value); return;
            case MmioRegisters.QueueDriverHigh: q.AvailRingAddress = SetHigh(q.AvailRingAddress, value); return;
            case MmioRegisters.QueueDeviceLow: q.UsedRingAddress = SetLow(q.UsedRingAddress, value); return;
            case MmioRegisters.QueueDeviceHigh: q.UsedRingAddress = SetHigh(q.UsedRingAddress, value); return;
            default:
                Invalid("write to a read-only or unknown register", offset, 4);
                return;
        }
    }

    private static ulong SetLow(ulong current, uint value) => (current & 0xFFFF_FFFF_0000_0000UL) | value;

    private static ulong SetHigh(ulong current, uint value) => (current & 0xFFFF_FFFFUL) | ((ulong)value << 32);

    /// <summary>Queue registers are accepted only after FEATURES_OK and before DRIVER_OK (Firecracker's rule).</summary>
    private bool InQueueSetupWindow(ulong offset, out Virtqueue queue)
    {
        queue = null!;
        if ((_status & (VirtioStatus.FeaturesOk | VirtioStatus.DriverOk)) != VirtioStatus.FeaturesOk
            || (_status & VirtioStatus.Failed) != 0)
        {
            Invalid("queue register outside the FEATURES_OK..DRIVER_OK window", offset, 4);
            return false;
        }
        if (_queueSel >= (uint)_queues.Length)
        {
            Invalid("queue register for a missing queue", offset, 4);
            return false;
        }
        queue = _queues[_queueSel];
        return true;
    }

    private void WriteDriverFeatures(uint value)
    {
        if ((_status & (VirtioStatus.FeaturesOk | VirtioStatus.DriverOk | VirtioStatus.Failed)) != 0)
        {
            Invalid("DriverFeatures after FEATURES_OK", MmioRegisters.DriverFeatures, 4);
            return;
        }
        switch (_driverFeaturesSel)
        {
            case 0: _driverFeatures = (_driverFeatures & 0xFFFF_FFFF_0000_0000UL) | value; break;
            case 1: _driverFeatures = (_driverFeatures & 0xFFFF_FFFFUL) | ((ulong)value << 32); break;
            default:
                if (value != 0) Invalid("DriverFeatures word beyond 1", MmioRegisters.DriverFeatures, 4);
                break;
        }
    }

    private void WriteStatus(uint value)
    {
        if (value == 0)
        {
            ResetLocked();
            return;
        }
        uint old = _status;
        // DEVICE_NEEDS_RESET belongs to the device: the driver can neither set nor clear it.
        uint deviceBits = old & VirtioStatus.DeviceNeedsReset;
        value &= ~VirtioStatus.DeviceNeedsReset;
        uint driverOld = old & ~VirtioStatus.DeviceNeedsReset;
        if ((driverOld & ~value) != 0)
        {
            _log.Warning("virtio-mmio: driver tried to clear status bits 0x{Bits:x} without a reset; ignored", driverOld & ~value);
            return;
        }
        uint added = value & ~driverOld;

        if ((added & VirtioStatus.FeaturesOk) != 0 && !FeaturesAcceptable(value, out string why))
        {
            // Not latching FEATURES_OK is how the device refuses the feature set (REFERENCE 3.3 step 5).
            _log.Warning("virtio-mmio: refusing FEATURES_OK: {Reason}", why);
            value &= ~VirtioStatus.FeaturesOk;
            added &= ~VirtioStatus.FeaturesOk;
        }
        if ((added & VirtioStatus.DriverOk) != 0 && (value & VirtioStatus.FeaturesOk) == 0)
        {
            _log.Warning("virtio-mmio: DRIVER_OK without FEATURES_OK; ignored");
            value &= ~VirtioStatus.DriverOk;
            added &= ~VirtioStatus.DriverOk;
        }
        _status = value | deviceBits;
        if ((added & VirtioStatus.DriverOk) != 0 && deviceBits == 0)
            ActivateLocked();
    }

    private bool FeaturesAcceptable(uint status, out string reason)
    {
        reason = "";
        if ((status & (VirtioStatus.Acknowledge | VirtioStatus.Driver)) != (VirtioStatus.Acknowledge | VirtioStatus.Driver))
            reason = "ACKNOWLEDGE and DRIVER are not both set";
        else if ((_driverFeatures & ~_offered) != 0)
            reason = $"driver accepted features 0x{_driverFeatures & ~_offered:x} that were not offered";
        else if ((_driverFeatures & VirtioFeatures.Version1) == 0)
            reason = "driver did not accept VIRTIO_F_VERSION_1 (required by virtio-mmio version 2)";
        return reason.Length == 0;
    }

    private void ActivateLocked()
    {
        foreach (var q in _queues)
        {
            if (!q.Ready) continue;
            if (!q.TryActivate(_memory, _driverFeatures, out string reason))
            {
                SetNeedsResetLocked(reason);
                return;
            }
        }
        try
        {
            _device.Activate(_memory, _queues, _driverFeatures, this);
            _activated = true;
            _log.Debug("virtio-mmio: device type {Type} activated with features 0x{Features:x}", _device.DeviceType, _driverFeatures);
        }
        catch (Exception e)
        {
            SetNeedsResetLocked($"device activation failed: {e.Message}");
        }
    }

    private void ResetLocked()
    {
        try
        {
            _device.Reset();
        }
        catch (Exception e)
        {
            _log.Error(e, "virtio-mmio: device reset failed");
        }
        _activated = false;
        foreach (var q in _queues) q.Reset();
        // Kicks from before the reset must not reach the next incarnation of the queues.
        foreach (var e in _queueEvents) e.Drain();
        _status = 0;
        _driverFeatures = 0;
        _deviceFeaturesSel = _driverFeaturesSel = _queueSel = 0;
        Interlocked.Exchange(ref _interruptStatus, 0);
    }

    private void SetNeedsResetLocked(string reason)
    {
        if ((_status & VirtioStatus.DeviceNeedsReset) != 0) return;
        _log.Warning("virtio-mmio: device type {Type} needs reset: {Reason}", _device.DeviceType, reason);
        _status |= VirtioStatus.DeviceNeedsReset;
        // With DRIVER_OK set the device must announce it with a config-change interrupt (virtio 1.2 §2.1.2).
        if ((_status & VirtioStatus.DriverOk) != 0)
            RaiseConfigInterrupt();
    }

    /// <summary>
    /// Runs the device's queue handler on the calling (I/O) thread; ignored unless the device is live
    /// and the queue active. Never throws: a device exception or a corrupt ring sets DEVICE_NEEDS_RESET.
    /// </summary>
    public void ProcessQueue(int queueIndex)
    {
        lock (_lock)
        {
            if (!_activated || (_status & VirtioStatus.DeviceNeedsReset) != 0) return;
            if ((uint)queueIndex >= (uint)_queues.Length) return;
            var q = _queues[queueIndex];
            if (!q.IsActive) return;
            try
            {
                _device.ProcessQueue(queueIndex);
            }
            catch (Exception e)
            {
                _log.Error(e, "virtio-mmio: device type {Type} failed processing queue {Queue}", _device.DeviceType, queueIndex);
                SetNeedsResetLocked($"queue {queueIndex} processing failed: {e.Message}");
                return;
            }
            if (q.IsBroken) SetNeedsResetLocked(q.BrokenReason ?? "queue broken");
        }
    }

    /// <summary>Called by the I/O thread when it consumed a kick for <paramref name="queueIndex"/>.</summary>
    internal void CountNotification(int queueIndex) => Interlocked.Increment(ref _queues[queueIndex].Counters.Notifications);

    public void NotifyUsed(int queueIndex)
    {
        if ((uint)queueIndex >= (uint)_queues.Length) return;
        var q = _queues[queueIndex];
        if (!q.NeedsInterrupt()) return;
        // Status bit before the edge: the guest handler reads InterruptStatus first (REFERENCE 3.6).
        Interlocked.Or(ref _interruptStatus, (int)MmioRegisters.InterruptUsedBuffer);
        Interlocked.Increment(ref q.Counters.Interrupts);
        _irq.Trigger();
    }

    public void NotifyConfigChanged()
    {
        Interlocked.Increment(ref _configGeneration);
        RaiseConfigInterrupt();
    }

    private void RaiseConfigInterrupt()
    {
        Interlocked.Or(ref _interruptStatus, (int)MmioRegisters.InterruptConfigChange);
        _irq.Trigger();
    }

    private void Invalid(string what, ulong offset, int size)
    {
        Interlocked.Increment(ref _invalidAccesses);
        _log.Debug("virtio-mmio: ignored {What} at offset 0x{Offset:x} (size/value {Size})", what, offset, size);
    }

    public void Dispose()
    {
        foreach (var e in _queueEvents) e?.Dispose();
    }
}
