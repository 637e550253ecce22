using System.Buffers.Binary;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Pci;
using Csvmm.Devices.State;

namespace Csvmm.Devices.Virtio.Pci;

/// <summary>
/// virtio over PCI, modern only (virtio 1.2 §4.1): a PCI function with vendor 0x1AF4 and device ID
/// 0x1040 + the virtio device type, one 64-bit memory BAR holding the common configuration, the ISR,
/// the device configuration, the notification area and the MSI-X table and PBA, and the vendor
/// capabilities that point into it. Registers are decoded onto the same
/// <see cref="VirtioTransportCore"/> virtio-mmio uses; interrupts go out as MSI-X messages, one
/// vector per queue plus one for configuration changes, as Linux's virtio_pci_modern driver asks.
/// No INTx: a guest without MSI-X gets no interrupts from this device.
/// </summary>
public sealed class VirtioPciTransport : IPciFunction, IBusDevice, IVirtioSignal, ISnapshotDevice, IDisposable
{
    public const ushort VendorId = 0x1AF4;
    public const ushort ModernDeviceIdBase = 0x1040;

    /// <summary>Offsets inside BAR 0; each region starts on its own page.</summary>
    public const ulong CommonOffset = 0x0000, IsrOffset = 0x1000, DeviceOffset = 0x2000, NotifyOffset = 0x3000;
    public const ulong MsixTableOffset = 0x4000, MsixPbaOffset = 0x5000, BarSize = 0x8000;

    /// <summary>Bytes between two queues' notification addresses (notify_off_multiplier).</summary>
    public const uint NotifyMultiplier = 4;

    /// <summary>struct virtio_pci_common_cfg with queue_notify_data and queue_reset (virtio 1.2 §4.1.4.3).</summary>
    public const int CommonLength = 0x3C;
    public const int IsrLength = 4;
    public const int DeviceConfigLength = 0x1000;

    /// <summary>VIRTIO_MSI_NO_VECTOR: the driver asked for no interrupt, or the device refused its vector.</summary>
    public const ushort NoVector = 0xFFFF;

    private const byte CapVendor = 0x09;
    private const byte CfgCommon = 1, CfgNotify = 2, CfgIsr = 3, CfgDevice = 4, CfgPci = 5;
    private const string TransportName = "virtio-pci";

    // Common configuration fields (virtio 1.2 §4.1.4.3).
    private const int DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0C;
    private const int ConfigMsixVector = 0x10, NumQueues = 0x12, DeviceStatus = 0x14, ConfigGeneration = 0x15;
    private const int QueueSelect = 0x16, QueueSizeField = 0x18, QueueMsixVector = 0x1A, QueueEnable = 0x1C;
    private const int QueueNotifyOff = 0x1E, QueueDesc = 0x20, QueueDriver = 0x28, QueueDevice = 0x30;

    private readonly VirtioTransportCore _core;
    private readonly MsixTable _msix;
    private readonly PciBar _bar;
    private readonly ushort[] _queueVectors;
    private readonly Lock _selectors = new();
    private readonly int _msixCapability;
    private uint _deviceFeatureSelect;
    private uint _driverFeatureSelect;
    private ushort _queueSelect;
    private ushort _configVector = NoVector;

    /// <param name="barAddress">Where csvmm places BAR 0 (the guest may move it).</param>
    public VirtioPciTransport(VirtioTransportCore core, IMsiController msi, ulong barAddress, string name)
    {
        _core = core;
        Name = name;
        _queueVectors = new ushort[core.QueueCount];
        Array.Fill(_queueVectors, NoVector);
        _msix = new MsixTable(core.QueueCount + 1, msi);
        _bar = new PciBar(0, BarSize);

        uint type = core.DeviceType;
        Config = new PciConfigSpace(VendorId, (ushort)(ModernDeviceIdBase + type), ClassFor(type), revision: 1,
            subsystemVendor: VendorId, subsystem: (ushort)(ModernDeviceIdBase + type));
        Config.AddBar64(_bar, barAddress);
        // Interrupt pin 0: no INTx.
        AddVirtioCapability(CfgCommon, CommonOffset, CommonLength);
        AddVirtioCapability(CfgNotify, NotifyOffset, (uint)core.QueueCount * NotifyMultiplier, NotifyMultiplier);
        AddVirtioCapability(CfgIsr, IsrOffset, IsrLength);
        AddVirtioCapability(CfgDevice, DeviceOffset, DeviceConfigLength);
        var (body, writable) = _msix.Capability(bar: 0, (uint)MsixTableOffset, (uint)MsixPbaOffset);
        _msixCapability = Config.AddCapability(body, writable, offset => _msix.ControlWritten(Config.ReadU16(offset + 2)));
        core.BindSignal(this);
    }

    public string Name { get; }

    public PciConfigSpace Config { get; }

    public VirtioTransportCore Core => _core;

    public PciBar Bar => _bar;

    public MsixTable Msix => _msix;

    /// <summary>PCI class for a virtio device type: mass storage / network / other (as QEMU reports them).</summary>
    public static uint ClassFor(uint deviceType) => deviceType switch
    {
        1 => 0x020000, // network controller, Ethernet
        2 => 0x010000, // mass storage, SCSI
        _ => 0xFF0000,
    };

    /// <summary>BAR-relative address of queue <paramref name="queue"/>'s notification (a KVM ioeventfd target).</summary>
    public static ulong NotifyAddressOffset(int queue) => NotifyOffset + (ulong)queue * NotifyMultiplier;

    public IBusDevice BarDevice(PciBar bar) => this;

    /// <summary>
    /// Each queue's notification address, as a 2-byte write of the queue index (Linux's vp_notify
    /// does iowrite16(index)); KVM turns it into the queue's eventfd, the same one virtio-mmio uses.
    /// </summary>
    public IReadOnlyList<PciDoorbell> Doorbells(PciBar bar)
    {
        var list = new PciDoorbell[_core.QueueCount];
        for (int q = 0; q < list.Length; q++)
            list[q] = new PciDoorbell(NotifyAddressOffset(q), 2, (ulong)q, _core.QueueEvent(q));
        return list;
    }

    /// <summary>A virtio_pci_cap (virtio 1.2 §4.1.4); the notify capability adds notify_off_multiplier.</summary>
    private void AddVirtioCapability(byte cfgType, ulong offset, uint length, uint? multiplier = null)
    {
        var cap = new byte[multiplier is null ? 16 : 20];
        cap[0] = CapVendor;
        cap[2] = (byte)cap.Length;
        cap[3] = cfgType;
        cap[4] = 0; // BAR 0
        BinaryPrimitives.WriteUInt32LittleEndian(cap.AsSpan(8), (uint)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(cap.AsSpan(12), length);
        if (multiplier is { } m) BinaryPrimitives.WriteUInt32LittleEndian(cap.AsSpan(16), m);
        Config.AddCapability(cap);
    }

    // ------------------------------------------------------------------ BAR 0 (vCPU threads)

    public void Read(ulong offset, Span<byte> data)
    {
        CountAccess();
        if (offset < CommonOffset + 0x1000) ReadCommon((int)offset, data);
        else if (offset < IsrOffset + 0x1000) ReadIsr(offset - IsrOffset, data);
        else if (offset < DeviceOffset + 0x1000) ReadDeviceConfig(offset - DeviceOffset, data);
        else if (offset >= MsixTableOffset && offset < MsixTableOffset + 0x1000) _msix.ReadTable(offset - MsixTableOffset, data);
        else if (offset >= MsixPbaOffset && offset < MsixPbaOffset + 0x1000) _msix.ReadPba(offset - MsixPbaOffset, data);
        else data.Clear(); // the notification area and the gaps read as zero
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        CountAccess();
        if (offset < CommonOffset + 0x1000) WriteCommon((int)offset, data);
        else if (offset >= DeviceOffset && offset < DeviceOffset + 0x1000)
        {
            if (data.Length is 1 or 2 or 4) _core.WriteConfig(offset - DeviceOffset, data);
            else Invalid("device configuration write of a width other than 1, 2 or 4", offset);
        }
        else if (offset >= NotifyOffset && offset < NotifyOffset + 0x1000)
        {
            // Normally an ioeventfd; this path is the fallback (and a hostile guest's).
            ulong queue = (offset - NotifyOffset) / NotifyMultiplier;
            if ((offset - NotifyOffset) % NotifyMultiplier != 0 || !_core.Notify((uint)queue))
                Invalid("notification outside a queue's address", offset);
        }
        else if (offset >= MsixTableOffset && offset < MsixTableOffset + 0x1000) _msix.WriteTable(offset - MsixTableOffset, data);
        else Invalid("write to a read-only region (ISR, PBA or a gap)", offset);
    }

    private void CountAccess()
    {
        if (_core.DriverOk) _core.Counters.RuntimeMmioExits.Increment();
    }

    private void Invalid(string what, ulong offset) => _core.Invalid(TransportName, what, offset);

    private void ReadIsr(ulong offset, Span<byte> data)
    {
        data.Clear();
        // Reading the ISR status clears it (virtio 1.2 §4.1.4.5).
        if (offset == 0) data[0] = (byte)_core.ReadAndClearInterruptStatus();
    }

    private void ReadDeviceConfig(ulong offset, Span<byte> data)
    {
        if (data.Length is 1 or 2 or 4) _core.ReadConfig(offset, data);
        else
        {
            data.Clear();
            Invalid("device configuration read of a width other than 1, 2 or 4", offset + DeviceOffset);
        }
    }

    private void ReadCommon(int offset, Span<byte> data)
    {
        if (offset + data.Length > CommonLength || !IsNaturalAccess(offset, data.Length))
        {
            data.Clear();
            Invalid("common configuration read outside a field", (ulong)offset);
            return;
        }
        Span<byte> regs = stackalloc byte[CommonLength];
        lock (_selectors)
        {
            uint q = _queueSelect;
            bool valid = q < (uint)_queueVectors.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(regs[DeviceFeatureSelect..], _deviceFeatureSelect);
            BinaryPrimitives.WriteUInt32LittleEndian(regs[DeviceFeature..], _core.ReadDeviceFeatures(_deviceFeatureSelect));
            BinaryPrimitives.WriteUInt32LittleEndian(regs[DriverFeatureSelect..], _driverFeatureSelect);
            BinaryPrimitives.WriteUInt32LittleEndian(regs[DriverFeature..], _core.ReadDriverFeatures(_driverFeatureSelect));
            BinaryPrimitives.WriteUInt16LittleEndian(regs[ConfigMsixVector..], _configVector);
            BinaryPrimitives.WriteUInt16LittleEndian(regs[NumQueues..], (ushort)_core.QueueCount);
            regs[DeviceStatus] = (byte)_core.Status;
            regs[ConfigGeneration] = (byte)_core.ConfigGeneration;
            BinaryPrimitives.WriteUInt16LittleEndian(regs[QueueSelect..], _queueSelect);
            BinaryPrimitives.WriteUInt16LittleEndian(regs[QueueSizeField..], _core.QueueSize(q));
            BinaryPrimitives.WriteUInt16LittleEndian(regs[QueueMsixVector..], valid ? _queueVectors[q] : NoVector);
            BinaryPrimitives.WriteUInt16LittleEndian(regs[QueueEnable..], (ushort)(_core.QueueReady(q) ? 1 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(regs[QueueNotifyOff..], (ushort)(valid ? q : 0));
            BinaryPrimitives.WriteUInt64LittleEndian(regs[QueueDesc..], _core.QueueAddress(q, QueueArea.DescriptorTable));
            BinaryPrimitives.WriteUInt64LittleEndian(regs[QueueDriver..], _core.QueueAddress(q, QueueArea.Driver));
            BinaryPrimitives.WriteUInt64LittleEndian(regs[QueueDevice..], _core.QueueAddress(q, QueueArea.Device));
        }
        regs.Slice(offset, data.Length).CopyTo(data);
    }

    /// <summary>Accesses of 1, 2, 4 or 8 bytes at their natural alignment; 64-bit fields also in 32-bit halves.</summary>
    private static bool IsNaturalAccess(int offset, int length) => length is 1 or 2 or 4 or 8 && offset % length == 0;

    private void WriteCommon(int offset, ReadOnlySpan<byte> data)
    {
        if (offset + data.Length > CommonLength || !IsNaturalAccess(offset, data.Length))
        {
            Invalid("common configuration write outside a field", (ulong)offset);
            return;
        }
        if (data.Length == 8)
        {
            // A 64-bit address written at once: the same as its two halves.
            WriteCommon(offset, data[..4]);
            WriteCommon(offset + 4, data[4..]);
            return;
        }
        ulong value = data.Length switch
        {
            1 => data[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(data),
            _ => BinaryPrimitives.ReadUInt32LittleEndian(data),
        };
        string refusal = "";
        bool ok = true;
        lock (_selectors)
        {
            uint q = _queueSelect;
            switch ((offset, data.Length))
            {
                case (DeviceFeatureSelect, 4): _deviceFeatureSelect = (uint)value; break;
                case (DriverFeatureSelect, 4): _driverFeatureSelect = (uint)value; break;
                case (DriverFeature, 4): ok = _core.WriteDriverFeatures(_driverFeatureSelect, (uint)value, out refusal); break;
                case (ConfigMsixVector, 2): _configVector = AcceptVector((ushort)value); break;
                case (DeviceStatus, 1):
                    if (value == 0) ResetSelectorsLocked();
                    break;
                case (QueueSelect, 2): _queueSelect = (ushort)value; break;
                case (QueueSizeField, 2): ok = _core.WriteQueueSize(q, (uint)value, out refusal); break;
                case (QueueMsixVector, 2):
                    if (q < (uint)_queueVectors.Length) _queueVectors[q] = AcceptVector((ushort)value);
                    else (ok, refusal) = (false, "queue_msix_vector for a missing queue");
                    break;
                case (QueueEnable, 2):
                    // The driver MUST NOT write 0 to queue_enable (virtio 1.2 §4.1.4.3.2).
                    if (value == 1) ok = _core.WriteQueueReady(q, true, out refusal);
                    else (ok, refusal) = (false, "queue_enable written with a value other than 1");
                    break;
                case (QueueDesc, 4) or (QueueDesc + 4, 4):
                    ok = _core.WriteQueueAddress(q, QueueArea.DescriptorTable, offset == QueueDesc + 4, (uint)value, out refusal);
                    break;
                case (QueueDriver, 4) or (QueueDriver + 4, 4):
                    ok = _core.WriteQueueAddress(q, QueueArea.Driver, offset == QueueDriver + 4, (uint)value, out refusal);
                    break;
                case (QueueDevice, 4) or (QueueDevice + 4, 4):
                    ok = _core.WriteQueueAddress(q, QueueArea.Device, offset == QueueDevice + 4, (uint)value, out refusal);
                    break;
                default:
                    (ok, refusal) = (false, "write to a read-only common configuration field, or with the wrong width");
                    break;
            }
        }
        // The status goes to the core outside the selector lock: a reset posts device work.
        if ((offset, data.Length) == (DeviceStatus, 1))
        {
            _core.WriteStatus((uint)value);
            if (value == 0) _msix.Reset();
        }
        if (!ok) Invalid(refusal, (ulong)offset);
    }

    /// <summary>A vector the table has is accepted; any other reads back as NO_VECTOR (virtio 1.2 §4.1.5.1.2).</summary>
    private ushort AcceptVector(ushort vector) => vector < _msix.Vectors ? vector : NoVector;

    private void ResetSelectorsLocked()
    {
        _deviceFeatureSelect = _driverFeatureSelect = 0;
        _queueSelect = 0;
        _configVector = NoVector;
        Array.Fill(_queueVectors, NoVector);
    }

    // ------------------------------------------------------------------ interrupts (device thread)

    public void SignalQueue(int queueIndex)
    {
        ushort vector = (uint)queueIndex < (uint)_queueVectors.Length ? Volatile.Read(ref _queueVectors[queueIndex]) : NoVector;
        if (vector != NoVector) _msix.Signal(vector);
    }

    public void SignalConfig()
    {
        ushort vector = Volatile.Read(ref _configVector);
        if (vector != NoVector) _msix.Signal(vector);
    }

    public void Save(StateWriter w)
    {
        w.Bytes(Config.SaveBytes());
        lock (_selectors)
        {
            w.U32(_deviceFeatureSelect);
            w.U32(_driverFeatureSelect);
            w.U16(_queueSelect);
            w.U16(_configVector);
            foreach (ushort v in _queueVectors) w.U16(v);
        }
        _msix.Save(w);
        w.Section(_core.Save);
    }

    public void Restore(ref StateReader r)
    {
        Config.RestoreBytes(r.Bytes());
        lock (_selectors)
        {
            _deviceFeatureSelect = r.U32();
            _driverFeatureSelect = r.U32();
            _queueSelect = r.U16();
            _configVector = AcceptVector(r.U16());
            for (int q = 0; q < _queueVectors.Length; q++) _queueVectors[q] = AcceptVector(r.U16());
        }
        _msix.Restore(ref r);
        var core = r.Section();
        _core.Restore(ref core);
        core.End(_core.Name);
    }

    public void Dispose() => _core.Dispose();
}
