using System.Buffers.Binary;
using Csvmm.Devices.Bus;
using Csvmm.Devices.State;
using Csvmm.Host.Events;
using Csvmm.Host.Memory;
using Serilog;

namespace Csvmm.Devices.Virtio.Mmio;

/// <summary>
/// virtio-mmio version 2 (modern only, virtio 1.2 §4.2): the register window of one device, decoded
/// onto a <see cref="VirtioTransportCore"/>, plus the one interrupt line the window's driver is told
/// about (<c>virtio_mmio.device=4K@BASE:GSI</c>). Occupies <see cref="WindowSize"/> bytes on the MMIO
/// bus; offsets are relative to its base. vCPU threads call Read/Write and never wait for device
/// work; QueueNotify is normally a KVM ioeventfd at base + <see cref="QueueNotifyOffset"/> (len 4,
/// datamatch = queue index) and never reaches this class.
/// </summary>
public sealed class VirtioMmioTransport : IBusDevice, IVirtioSignal, ISnapshotDevice, IDisposable
{
    /// <summary>Size of the MMIO window to register (Linux's virtio_mmio.device=4K@...).</summary>
    public const ulong WindowSize = 0x1000;

    /// <summary>Offset of QueueNotify, for KVM_IOEVENTFD (base + this, len 4, datamatch = queue index).</summary>
    public const ulong QueueNotifyOffset = MmioRegisters.QueueNotify;

    private const string TransportName = "virtio-mmio";

    private readonly VirtioTransportCore _core;
    private readonly IInterruptLine _irq;
    private uint _deviceFeaturesSel;
    private uint _driverFeaturesSel;
    private uint _queueSel;

    public VirtioMmioTransport(IVirtioDevice device, GuestMemory memory, IInterruptLine interrupt, ILogger? log = null, string? name = null)
        : this(new VirtioTransportCore(device, memory, log, name), interrupt)
    {
    }

    public VirtioMmioTransport(VirtioTransportCore core, IInterruptLine interrupt)
    {
        _core = core;
        _irq = interrupt;
        core.BindSignal(this);
    }

    public VirtioTransportCore Core => _core;

    public IVirtioDevice Device => _core.Device;

    public int QueueCount => _core.QueueCount;

    /// <summary>The live queues (empty until DRIVER_OK is accepted).</summary>
    public IReadOnlyList<Virtqueue> Queues => _core.ActiveQueues;

    public EventFd QueueEvent(int index) => _core.QueueEvent(index);

    public uint Status => _core.Status;

    public uint InterruptStatus => _core.InterruptStatus;

    public ulong NegotiatedFeatures => _core.NegotiatedFeatures;

    public bool IsActivated => _core.IsActivated;

    public TransportCounters Counters => _core.Counters;

    /// <summary>Runs the device's handler for a queue inline (tests, fuzzing); see <see cref="VirtioTransportCore.ProcessQueue"/>.</summary>
    public bool ProcessQueue(int queueIndex) => _core.ProcessQueue(queueIndex);

    public void Read(ulong offset, Span<byte> data)
    {
        CountAccess();
        if (offset >= MmioRegisters.Config)
        {
            // Device-specific fields are read with their own width (virtio 1.2 §4.2.2.2).
            if (data.Length is 1 or 2 or 4) _core.ReadConfig(offset - MmioRegisters.Config, data);
            else
            {
                data.Clear();
                _core.Invalid(TransportName, "config read of a width other than 1, 2 or 4", offset);
            }
            return;
        }
        if (data.Length != 4 || offset % 4 != 0)
        {
            data.Clear(); // every byte must be filled, even for a refused access
            _core.Invalid(TransportName, "register read that is not 32-bit and aligned", offset);
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(data, ReadRegister(offset));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        CountAccess();
        if (offset >= MmioRegisters.Config)
        {
            if (data.Length is 1 or 2 or 4) _core.WriteConfig(offset - MmioRegisters.Config, data);
            else _core.Invalid(TransportName, "config write of a width other than 1, 2 or 4", offset);
            return;
        }
        if (data.Length != 4 || offset % 4 != 0)
        {
            _core.Invalid(TransportName, "register write that is not 32-bit and aligned", offset);
            return;
        }
        WriteRegister(offset, BinaryPrimitives.ReadUInt32LittleEndian(data));
    }

    private void CountAccess()
    {
        if (_core.DriverOk) _core.Counters.RuntimeMmioExits.Increment();
    }

    private uint ReadRegister(ulong offset)
    {
        uint sel = Volatile.Read(ref _queueSel);
        return offset switch
        {
            MmioRegisters.MagicValue => MmioRegisters.Magic,
            MmioRegisters.Version => MmioRegisters.VersionModern,
            MmioRegisters.DeviceId => _core.DeviceType,
            MmioRegisters.VendorId => MmioRegisters.Vendor,
            MmioRegisters.DeviceFeatures => _core.ReadDeviceFeatures(Volatile.Read(ref _deviceFeaturesSel)),
            MmioRegisters.QueueNumMax => _core.QueueMaxSize(sel),
            MmioRegisters.QueueReady => _core.QueueReady(sel) ? 1u : 0u,
            MmioRegisters.InterruptStatus => _core.InterruptStatus,
            MmioRegisters.Status => _core.Status,
            MmioRegisters.ConfigGeneration => (uint)_core.ConfigGeneration,
            _ => 0, // write-only or unknown registers read as zero
        };
    }

    private void WriteRegister(ulong offset, uint value)
    {
        uint sel = Volatile.Read(ref _queueSel);
        string refusal = "";
        bool ok = true;
        switch (offset)
        {
            case MmioRegisters.DeviceFeaturesSel: Volatile.Write(ref _deviceFeaturesSel, value); break;
            case MmioRegisters.DriverFeaturesSel: Volatile.Write(ref _driverFeaturesSel, value); break;
            case MmioRegisters.DriverFeatures: ok = _core.WriteDriverFeatures(Volatile.Read(ref _driverFeaturesSel), value, out refusal); break;
            case MmioRegisters.QueueSel: Volatile.Write(ref _queueSel, value); break;
            case MmioRegisters.QueueNum: ok = _core.WriteQueueSize(sel, value, out refusal); break;
            case MmioRegisters.QueueReady: ok = _core.WriteQueueReady(sel, value == 1, out refusal); break;
            case MmioRegisters.QueueDescLow: ok = _core.WriteQueueAddress(sel, QueueArea.DescriptorTable, false, value, out refusal); break;
            case MmioRegisters.QueueDescHigh: ok = _core.WriteQueueAddress(sel, QueueArea.DescriptorTable, true, value, out refusal); break;
            case MmioRegisters.QueueDriverLow: ok = _core.WriteQueueAddress(sel, QueueArea.Driver, false, value, out refusal); break;
            case MmioRegisters.QueueDriverHigh: ok = _core.WriteQueueAddress(sel, QueueArea.Driver, true, value, out refusal); break;
            case MmioRegisters.QueueDeviceLow: ok = _core.WriteQueueAddress(sel, QueueArea.Device, false, value, out refusal); break;
            case MmioRegisters.QueueDeviceHigh: ok = _core.WriteQueueAddress(sel, QueueArea.Device, true, value, out refusal); break;
            case MmioRegisters.QueueNotify:
                if (!_core.Notify(value)) (ok, refusal) = (false, "QueueNotify for a missing queue");
                break;
            case MmioRegisters.InterruptAck: _core.AcknowledgeInterrupt(value); break;
            case MmioRegisters.Status:
                if (value == 0)
                {
                    // A reset also clears the transport's own selectors.
                    Volatile.Write(ref _deviceFeaturesSel, 0);
                    Volatile.Write(ref _driverFeaturesSel, 0);
                    Volatile.Write(ref _queueSel, 0);
                }
                _core.WriteStatus(value);
                break;
            default:
                (ok, refusal) = (false, "write to a read-only or unknown register");
                break;
        }
        if (!ok) _core.Invalid(TransportName, refusal, offset);
    }

    // IVirtioSignal: one line for everything; the driver reads InterruptStatus to tell why.
    public void SignalQueue(int queueIndex) => _irq.Trigger();

    public void SignalConfig() => _irq.Trigger();

    public void Save(StateWriter w)
    {
        w.U32(Volatile.Read(ref _deviceFeaturesSel));
        w.U32(Volatile.Read(ref _driverFeaturesSel));
        w.U32(Volatile.Read(ref _queueSel));
        w.Section(_core.Save);
    }

    public void Restore(ref StateReader r)
    {
        _deviceFeaturesSel = r.U32();
        _driverFeaturesSel = r.U32();
        _queueSel = r.U32();
        var core = r.Section();
        _core.Restore(ref core);
        core.End(_core.Name);
    }

    public void Dispose() => _core.Dispose();
}
