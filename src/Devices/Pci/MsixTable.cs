using System.Buffers.Binary;
using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Pci;

/// <summary>
/// MSI-X for one function (PCI Local Bus Specification 3.0 §6.8.2): the capability's message
/// control (enable, function mask), the vector table (16 bytes per entry: address, data, vector
/// control) and the pending-bit array, both in a BAR. A masked vector that fires sets its pending
/// bit and is delivered when unmasked. A vector is routed (through <see cref="IMsiVector"/>, a KVM
/// GSI route and irqfd in csvmm) only once the guest unmasks it with an address that targets a
/// local APIC (0xFEE0_0000–0xFEEF_FFFF, Intel SDM Vol. 3 §11.11.1) and a fixed or lowest-priority
/// delivery mode: an entry aimed anywhere else, or at SMI/NMI/INIT, is refused and counted.
/// </summary>
public sealed class MsixTable
{
    public const byte CapabilityId = 0x11;
    public const int CapabilityLength = 12;
    public const int EntrySize = 16;
    public const ushort ControlEnable = 1 << 15;
    public const ushort ControlFunctionMask = 1 << 14;
    private const uint VectorControlMask = 1;
    private const ulong MsiAddressBase = 0xFEE0_0000, MsiAddressEnd = 0xFEF0_0000;

    private readonly Lock _lock = new();
    private readonly Entry[] _entries;
    private readonly IMsiVector[] _routes;
    private bool _enabled;
    private bool _functionMasked;

    private struct Entry
    {
        public uint AddressLow, AddressHigh, Data, Control;
        public bool Pending;
        public bool Routed; // the route holds this entry's current address/data
    }

    /// <param name="vectors">Table size (1..2048).</param>
    /// <param name="controller">Creates the host side of each vector.</param>
    public MsixTable(int vectors, IMsiController controller)
    {
        if (vectors is < 1 or > 2048) throw new ArgumentOutOfRangeException(nameof(vectors));
        _entries = new Entry[vectors];
        _routes = new IMsiVector[vectors];
        for (int i = 0; i < vectors; i++)
        {
            _entries[i].Control = VectorControlMask; // every vector starts masked (§6.8.2.9)
            _routes[i] = controller.CreateVector();
        }
    }

    public int Vectors => _entries.Length;

    public int TableBytes => _entries.Length * EntrySize;

    /// <summary>Bytes of the pending-bit array (64-bit words).</summary>
    public int PbaBytes => (_entries.Length + 63) / 64 * 8;

    public MsixCounters Counters { get; } = new();

    /// <summary>The capability body for <see cref="PciConfigSpace.AddCapability"/>, and which bits the guest may write.</summary>
    public (byte[] Body, byte[] Writable) Capability(int bar, uint tableOffset, uint pbaOffset)
    {
        var body = new byte[CapabilityLength];
        body[0] = CapabilityId;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), (ushort)(_entries.Length - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), tableOffset | (uint)(bar & 7));
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), pbaOffset | (uint)(bar & 7));
        var writable = new byte[CapabilityLength];
        writable[3] = (byte)((ControlEnable | ControlFunctionMask) >> 8);
        return (body, writable);
    }

    public bool Enabled
    {
        get { lock (_lock) return _enabled; }
    }

    /// <summary>The guest wrote message control: apply enable and function mask.</summary>
    public void ControlWritten(ushort control)
    {
        List<int>? deliver = null;
        lock (_lock)
        {
            _enabled = (control & ControlEnable) != 0;
            _functionMasked = (control & ControlFunctionMask) != 0;
            for (int i = 0; i < _entries.Length; i++)
                if (DeliverIfUnmaskedLocked(i)) (deliver ??= []).Add(i);
        }
        if (deliver is not null)
            foreach (int i in deliver) _routes[i].Trigger();
    }

    /// <summary>
    /// The device wants vector <paramref name="vector"/> delivered. Returns false when MSI-X is off
    /// (nothing delivered). Called on a device thread; never blocks.
    /// </summary>
    public bool Signal(int vector)
    {
        if ((uint)vector >= (uint)_entries.Length) return false;
        lock (_lock)
        {
            if (!_enabled) return false;
            ref var e = ref _entries[vector];
            if (_functionMasked || (e.Control & VectorControlMask) != 0)
            {
                e.Pending = true;
                return true;
            }
            if (!RouteLocked(vector)) return true; // refused entry: dropped, counted
            Counters.Delivered.Increment();
        }
        _routes[vector].Trigger();
        return true;
    }

    /// <summary>Reads the table (offsets relative to its start): aligned 4- or 8-byte accesses (§6.8.2).</summary>
    public void ReadTable(ulong offset, Span<byte> data)
    {
        if (!TableAccess(offset, data.Length, out int index, out int field))
        {
            data.Fill(0xFF);
            return;
        }
        lock (_lock)
        {
            ref var e = ref _entries[index];
            Span<byte> raw = stackalloc byte[EntrySize];
            BinaryPrimitives.WriteUInt32LittleEndian(raw, e.AddressLow);
            BinaryPrimitives.WriteUInt32LittleEndian(raw[4..], e.AddressHigh);
            BinaryPrimitives.WriteUInt32LittleEndian(raw[8..], e.Data);
            BinaryPrimitives.WriteUInt32LittleEndian(raw[12..], e.Control);
            raw.Slice(field, data.Length).CopyTo(data);
        }
    }

    public void WriteTable(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!TableAccess(offset, data.Length, out int index, out int field))
        {
            Counters.InvalidAccesses.Increment();
            return;
        }
        bool deliver = false;
        lock (_lock)
        {
            ref var e = ref _entries[index];
            for (int at = 0; at < data.Length; at += 4)
            {
                uint v = BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
                switch (field + at)
                {
                    case 0: e.AddressLow = v; e.Routed = false; break;
                    case 4: e.AddressHigh = v; e.Routed = false; break;
                    case 8: e.Data = v; e.Routed = false; break;
                    case 12: e.Control = v & VectorControlMask; break;
                }
            }
            deliver = DeliverIfUnmaskedLocked(index);
        }
        if (deliver) _routes[index].Trigger();
    }

    /// <summary>The pending-bit array: read-only (§6.8.2.10); writes are ignored.</summary>
    public void ReadPba(ulong offset, Span<byte> data)
    {
        data.Clear();
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong byteIndex = offset + (ulong)i;
                for (int bit = 0; bit < 8; bit++)
                {
                    ulong vector = byteIndex * 8 + (ulong)bit;
                    if (vector < (ulong)_entries.Length && _entries[vector].Pending) data[i] |= (byte)(1 << bit);
                }
            }
        }
    }

    /// <summary>Clears the table to its reset state (all masked, nothing pending, MSI-X off).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _enabled = false;
            _functionMasked = false;
            for (int i = 0; i < _entries.Length; i++)
            {
                _entries[i] = new Entry { Control = VectorControlMask };
                _routes[i].Disable();
            }
        }
    }

    public void Save(State.StateWriter w)
    {
        lock (_lock)
        {
            w.Bool(_enabled);
            w.Bool(_functionMasked);
            w.U32((uint)_entries.Length);
            foreach (var e in _entries)
            {
                w.U32(e.AddressLow);
                w.U32(e.AddressHigh);
                w.U32(e.Data);
                w.U32(e.Control);
                w.Bool(e.Pending);
            }
        }
    }

    /// <summary>Restores the table; the routes of unmasked, valid entries are installed again.</summary>
    public void Restore(ref State.StateReader r)
    {
        lock (_lock)
        {
            _enabled = r.Bool();
            _functionMasked = r.Bool();
            if (r.U32() != (uint)_entries.Length) throw new State.StateFormatException("MSI-X table of another size");
            for (int i = 0; i < _entries.Length; i++)
            {
                _entries[i] = new Entry { AddressLow = r.U32(), AddressHigh = r.U32(), Data = r.U32(), Control = r.U32() & VectorControlMask, Pending = r.Bool() };
                _routes[i].Disable();
                if (_enabled && (_entries[i].Control & VectorControlMask) == 0) RouteLocked(i);
            }
        }
    }

    private bool TableAccess(ulong offset, int length, out int index, out int field)
    {
        index = (int)(offset / EntrySize);
        field = (int)(offset % EntrySize);
        return offset < (ulong)TableBytes && length is 4 or 8 && field % length == 0;
    }

    /// <summary>A pending vector whose masks were lifted is delivered now; returns whether to trigger it.</summary>
    private bool DeliverIfUnmaskedLocked(int index)
    {
        ref var e = ref _entries[index];
        if (!_enabled || _functionMasked || (e.Control & VectorControlMask) != 0) return false;
        if (!RouteLocked(index)) return false;
        if (!e.Pending) return false;
        e.Pending = false;
        Counters.Delivered.Increment();
        return true;
    }

    /// <summary>Installs the entry's message as its route if it changed; false if the message is refused.</summary>
    private bool RouteLocked(int index)
    {
        ref var e = ref _entries[index];
        ulong address = ((ulong)e.AddressHigh << 32) | e.AddressLow;
        uint deliveryMode = (e.Data >> 8) & 0x7;
        bool acceptable = address >= MsiAddressBase && address < MsiAddressEnd && deliveryMode is 0 or 1;
        if (!acceptable)
        {
            if (!e.Routed)
            {
                Counters.RefusedMessages.Increment();
                _routes[index].Disable();
                e.Routed = true; // refused once for this message; counted once
            }
            e.Pending = false;
            return false;
        }
        if (!e.Routed)
        {
            _routes[index].Route(address, e.Data);
            e.Routed = true;
        }
        return true;
    }
}
