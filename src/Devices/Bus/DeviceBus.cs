using Csvmm.Devices.Logging;
using Serilog;

namespace Csvmm.Devices.Bus;

/// <summary>
/// An address space (port I/O or MMIO) mapping non-overlapping ranges to devices. Lookup is a
/// binary search over an immutable sorted array, so dispatch allocates nothing and needs no lock;
/// changes (a PCI BAR the guest moves) publish a new array under a writers' lock. Accesses nobody
/// claims are counted, logged at debug level within a rate limit, and read as all-ones (an empty
/// ISA/PCI bus).
/// </summary>
public sealed class DeviceBus
{
    private readonly string _name;
    private readonly ILogger _log;
    private readonly GuestLog _guestLog;
    private readonly Lock _writers = new();
    private Entry[] _entries = [];
    private long _unclaimedReads;
    private long _unclaimedWrites;

    private readonly record struct Entry(ulong Base, ulong Length, IBusDevice Device, string Name);

    public DeviceBus(string name, ILogger? log = null)
    {
        _name = name;
        _log = log ?? Serilog.Core.Logger.None;
        _guestLog = new GuestLog(_log, $"{name} bus");
    }

    public long UnclaimedReads => Interlocked.Read(ref _unclaimedReads);
    public long UnclaimedWrites => Interlocked.Read(ref _unclaimedWrites);

    /// <summary>Adds a device; throws if the range is empty, wraps, or overlaps another device.</summary>
    public void Register(ulong baseAddress, ulong length, IBusDevice device, string name)
    {
        if (!TryRegister(baseAddress, length, device, name, out string why))
            throw new ArgumentException($"{_name} bus: {why}");
    }

    /// <summary>Adds a device unless the range is empty, wraps, or overlaps another device (then false and why).</summary>
    public bool TryRegister(ulong baseAddress, ulong length, IBusDevice device, string name, out string why)
    {
        why = "";
        lock (_writers)
        {
            if (length == 0 || baseAddress + length < baseAddress)
            {
                why = $"invalid range 0x{baseAddress:x}+0x{length:x} for {name}";
                return false;
            }
            foreach (var e in _entries)
            {
                if (baseAddress < e.Base + e.Length && e.Base < baseAddress + length)
                {
                    why = $"{name} at 0x{baseAddress:x}+0x{length:x} overlaps {e.Name} at 0x{e.Base:x}+0x{e.Length:x}";
                    return false;
                }
            }
            var list = new List<Entry>(_entries) { new(baseAddress, length, device, name) };
            list.Sort((a, b) => a.Base.CompareTo(b.Base));
            Volatile.Write(ref _entries, list.ToArray());
            return true;
        }
    }

    /// <summary>Removes the device registered at <paramref name="baseAddress"/>; false if none is.</summary>
    public bool Unregister(ulong baseAddress, IBusDevice device)
    {
        lock (_writers)
        {
            var list = new List<Entry>(_entries);
            int removed = list.RemoveAll(e => e.Base == baseAddress && ReferenceEquals(e.Device, device));
            Volatile.Write(ref _entries, list.ToArray());
            return removed > 0;
        }
    }

    /// <summary>Whether any registered device covers part of [<paramref name="baseAddress"/>, +<paramref name="length"/>).</summary>
    public bool Overlaps(ulong baseAddress, ulong length)
    {
        foreach (var e in Volatile.Read(ref _entries))
            if (baseAddress < e.Base + e.Length && e.Base < baseAddress + length) return true;
        return false;
    }

    /// <summary>Finds the device covering the whole access; false when none does.</summary>
    public bool TryResolve(ulong address, int size, out IBusDevice device, out ulong offset)
    {
        var entries = Volatile.Read(ref _entries);
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly var e = ref entries[mid];
            if (address < e.Base) hi = mid - 1;
            else if (address - e.Base >= e.Length) lo = mid + 1;
            else
            {
                offset = address - e.Base;
                if ((ulong)size > e.Length - offset) break; // straddles the end of the device
                device = e.Device;
                return true;
            }
        }
        device = null!;
        offset = 0;
        return false;
    }

    /// <summary>Dispatches a read; unclaimed reads return all-ones. Returns whether a device claimed it.</summary>
    public bool Read(ulong address, Span<byte> data)
    {
        if (TryResolve(address, data.Length, out var device, out ulong offset))
        {
            device.Read(offset, data);
            return true;
        }
        data.Fill(0xFF);
        Interlocked.Increment(ref _unclaimedReads);
        _guestLog.Debug("{Bus} read of {Size} bytes at 0x{Address:x} claimed by no device", _name, data.Length, address);
        return false;
    }

    /// <summary>Dispatches a write; unclaimed writes are dropped. Returns whether a device claimed it.</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (TryResolve(address, data.Length, out var device, out ulong offset))
        {
            device.Write(offset, data);
            return true;
        }
        Interlocked.Increment(ref _unclaimedWrites);
        _guestLog.Debug("{Bus} write of {Size} bytes at 0x{Address:x} claimed by no device", _name, data.Length, address);
        return false;
    }
}
