using System.Buffers.Binary;
using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Pci;

/// <summary>
/// The 256-byte configuration space of a type-0 PCI function (PCI Local Bus Specification 3.0
/// §6.1): identification, command, 64-bit memory BARs, and a capability list. Each byte has a
/// write mask; everything else the guest writes is ignored. BAR writes keep only the bits above
/// the BAR's size (so writing all-ones reads back the size, §6.2.5.1), and a BAR decodes only
/// while the command register's memory-space bit is set: then the <see cref="IPciBarMapper"/> is
/// asked to put it where the BAR points, and may refuse.
/// </summary>
public sealed class PciConfigSpace
{
    public const int Size = 256;

    // Header offsets (PCI 3.0 §6.1).
    public const int VendorId = 0x00, DeviceId = 0x02, Command = 0x04, Status = 0x06, RevisionId = 0x08;
    public const int ClassCode = 0x09, HeaderType = 0x0E, Bar0 = 0x10, SubsystemVendorId = 0x2C, SubsystemId = 0x2E;
    public const int CapabilitiesPointer = 0x34, InterruptLine = 0x3C, InterruptPin = 0x3D;
    public const int FirstCapability = 0x40;

    public const ushort CommandMemorySpace = 1 << 1;
    public const ushort CommandBusMaster = 1 << 2;
    public const ushort CommandInterruptDisable = 1 << 10;
    public const ushort StatusCapabilitiesList = 1 << 4;

    // Low bits of a 64-bit memory BAR: memory space (0), type 64-bit (2 << 1), not prefetchable.
    private const uint Bar64Type = 0b100;

    private readonly Lock _lock = new();
    private readonly byte[] _bytes = new byte[Size];
    private readonly byte[] _writable = new byte[Size];
    private readonly PciBar?[] _barsByRegister = new PciBar?[6];
    private readonly List<PciBar> _bars = [];
    private readonly List<(int Offset, int Length, Action<int>? OnWrite)> _capabilities = [];
    private int _nextCapability = FirstCapability;
    private IPciFunction? _owner;
    private IPciBarMapper? _mapper;

    public PciConfigSpace(ushort vendor, ushort device, uint classCode, byte revision, ushort subsystemVendor, ushort subsystem)
    {
        var b = _bytes.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(b[VendorId..], vendor);
        BinaryPrimitives.WriteUInt16LittleEndian(b[DeviceId..], device);
        b[RevisionId] = revision;
        b[ClassCode] = (byte)classCode;
        b[ClassCode + 1] = (byte)(classCode >> 8);
        b[ClassCode + 2] = (byte)(classCode >> 16);
        BinaryPrimitives.WriteUInt16LittleEndian(b[SubsystemVendorId..], subsystemVendor);
        BinaryPrimitives.WriteUInt16LittleEndian(b[SubsystemId..], subsystem);
        // Memory decoding starts on: csvmm is the firmware that placed the BARs.
        BinaryPrimitives.WriteUInt16LittleEndian(b[Command..], CommandMemorySpace);
        SetWritable(Command, 2, CommandMemorySpace | CommandBusMaster | CommandInterruptDisable);
        SetWritable(InterruptLine, 1, 0xFF);
        _writable[0x0C] = 0xFF; // cache line size: any value, no effect
        _writable[0x0D] = 0xFF; // latency timer
    }

    public IReadOnlyList<PciBar> Bars => _bars;

    public PciCounters Counters { get; } = new();

    public ushort ReadCommand()
    {
        lock (_lock) return BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(Command));
    }

    public bool MemoryEnabled => (ReadCommand() & CommandMemorySpace) != 0;

    /// <summary>Adds a 64-bit memory BAR at registers <paramref name="bar"/>.Index and .Index+1, pointing at <paramref name="address"/>.</summary>
    public void AddBar64(PciBar bar, ulong address)
    {
        if (bar.Index is < 0 or > 4 || _barsByRegister[bar.Index] is not null || _barsByRegister[bar.Index + 1] is not null)
            throw new ArgumentException($"BAR {bar.Index} is taken or out of range", nameof(bar));
        if (bar.Size < 0x1000 || (bar.Size & (bar.Size - 1)) != 0)
            throw new ArgumentException("a BAR is a power of two of at least 4 KiB", nameof(bar));
        _barsByRegister[bar.Index] = _barsByRegister[bar.Index + 1] = bar;
        _bars.Add(bar);
        bar.Address = address & ~(bar.Size - 1);
        WriteBarRegisters(bar);
        SetWritable(Bar0 + 4 * bar.Index, 4, 0xFFFFFFF0);
        SetWritable(Bar0 + 4 * bar.Index + 4, 4, 0xFFFFFFFF);
    }

    /// <summary>
    /// Appends a capability: <paramref name="body"/> starts with the capability ID, the next
    /// pointer is filled in. <paramref name="writableMask"/> (same length, may be empty) says which
    /// bits the guest may change; <paramref name="onWrite"/> runs after a write that touched it,
    /// with the capability's offset. Returns the capability's offset.
    /// </summary>
    public int AddCapability(ReadOnlySpan<byte> body, ReadOnlySpan<byte> writableMask = default, Action<int>? onWrite = null)
    {
        int offset = (_nextCapability + 3) & ~3;
        if (offset + body.Length > Size) throw new InvalidOperationException("configuration space is full");
        body.CopyTo(_bytes.AsSpan(offset));
        _bytes[offset + 1] = 0;
        writableMask.CopyTo(_writable.AsSpan(offset));
        if (_capabilities.Count == 0) _bytes[CapabilitiesPointer] = (byte)offset;
        else _bytes[_capabilities[^1].Offset + 1] = (byte)offset;
        _capabilities.Add((offset, body.Length, onWrite));
        var status = BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(Status));
        BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan(Status), (ushort)(status | StatusCapabilitiesList));
        _nextCapability = offset + body.Length;
        return offset;
    }

    /// <summary>Lets the function's own logic read its capability bytes (e.g. MSI-X message control).</summary>
    public ushort ReadU16(int offset)
    {
        lock (_lock) return BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(offset));
    }

    /// <summary>Connects the function to the memory bus and maps its BARs where the VMM placed them.</summary>
    public void Attach(IPciFunction owner, IPciBarMapper mapper)
    {
        lock (_lock)
        {
            _owner = owner;
            _mapper = mapper;
            UpdateMappingsLocked();
        }
    }

    public void Read(int offset, Span<byte> data)
    {
        if (offset < 0 || offset + data.Length > Size)
        {
            data.Fill(0xFF);
            return;
        }
        lock (_lock) _bytes.AsSpan(offset, data.Length).CopyTo(data);
    }

    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Size) return;
        List<(int, Action<int>)>? callbacks = null;
        lock (_lock)
        {
            bool changed = false;
            for (int i = 0; i < data.Length; i++)
            {
                int at = offset + i;
                byte mask = _writable[at];
                byte value = (byte)((_bytes[at] & ~mask) | (data[i] & mask));
                if (value != _bytes[at]) changed = true;
                _bytes[at] = value;
                if (mask == 0 && data[i] != _bytes[at]) Counters.ReadOnlyWrites.Increment();
            }
            if (Overlaps(offset, data.Length, Bar0, 24)) SyncBarsFromRegisters();
            if (changed && (Overlaps(offset, data.Length, Command, 2) || Overlaps(offset, data.Length, Bar0, 24)))
                UpdateMappingsLocked();
            foreach (var (capOffset, length, onWrite) in _capabilities)
                if (onWrite is not null && Overlaps(offset, data.Length, capOffset, length))
                    (callbacks ??= []).Add((capOffset, onWrite));
        }
        if (callbacks is not null)
            foreach (var (capOffset, onWrite) in callbacks) onWrite(capOffset);
    }

    /// <summary>The 256 bytes as they are (BAR registers included), for a snapshot.</summary>
    public byte[] SaveBytes()
    {
        lock (_lock) return (byte[])_bytes.Clone();
    }

    /// <summary>
    /// Restores saved bytes: only what the guest could have written changes (the write masks
    /// apply, so a tampered snapshot cannot change identification or capabilities), then the BARs
    /// are re-derived and mapped where they point.
    /// </summary>
    public void RestoreBytes(ReadOnlySpan<byte> saved)
    {
        if (saved.Length != Size) throw new State.StateFormatException($"PCI config space of {saved.Length} bytes, not {Size}");
        lock (_lock)
        {
            for (int i = 0; i < Size; i++)
                _bytes[i] = (byte)((_bytes[i] & ~_writable[i]) | (saved[i] & _writable[i]));
            SyncBarsFromRegisters();
            UpdateMappingsLocked();
        }
    }

    private static bool Overlaps(int offset, int length, int start, int size) => offset < start + size && start < offset + length;

    private void SetWritable(int offset, int length, uint mask)
    {
        for (int i = 0; i < length; i++) _writable[offset + i] = (byte)(mask >> (8 * i));
    }

    private void WriteBarRegisters(PciBar bar)
    {
        int reg = Bar0 + 4 * bar.Index;
        BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(reg), (uint)bar.Address | Bar64Type);
        BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(reg + 4), (uint)(bar.Address >> 32));
    }

    /// <summary>After a BAR write: keep the bits above the size, restore the type bits.</summary>
    private void SyncBarsFromRegisters()
    {
        foreach (var bar in _bars)
        {
            int reg = Bar0 + 4 * bar.Index;
            ulong raw = BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(reg))
                | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(reg + 4)) << 32);
            bar.Address = raw & ~(bar.Size - 1);
            WriteBarRegisters(bar);
        }
    }

    private void UpdateMappingsLocked()
    {
        if (_owner is null || _mapper is null) return;
        bool enabled = (BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(Command)) & CommandMemorySpace) != 0;
        foreach (var bar in _bars)
        {
            ulong? want = enabled ? bar.Address : null;
            if (bar.MappedAt == want) continue;
            if (bar.MappedAt is not null)
            {
                _mapper.Unmap(_owner, bar);
                bar.MappedAt = null;
            }
            if (want is { } address)
            {
                if (_mapper.TryMap(_owner, bar, address)) bar.MappedAt = address;
                else Counters.RefusedBarPlacements.Increment();
            }
        }
    }
}
