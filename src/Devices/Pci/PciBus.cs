namespace Csvmm.Devices.Pci;

/// <summary>
/// Bus 0 of csvmm's PCI segment: up to 32 single-function devices, found by the guest through
/// configuration mechanism #1 (<see cref="PciConfigPorts"/>). Slot 0 is the host bridge.
/// </summary>
public sealed class PciBus
{
    public const int Slots = 32;

    private readonly IPciFunction?[] _slots = new IPciFunction?[Slots];

    public IPciFunction? this[int slot] => (uint)slot < Slots ? _slots[slot] : null;

    public int FreeSlots => _slots.Count(s => s is null);

    /// <summary>Puts <paramref name="function"/> in the lowest free slot and returns it.</summary>
    public int Add(IPciFunction function)
    {
        for (int i = 0; i < Slots; i++)
        {
            if (_slots[i] is not null) continue;
            _slots[i] = function;
            return i;
        }
        throw new InvalidOperationException($"the PCI bus has no free slot for {function.Name}");
    }

    /// <summary>Reads configuration space; a missing device or function reads all-ones (PCI 3.0 §6.1).</summary>
    public void Read(int device, int function, int offset, Span<byte> data)
    {
        if (function != 0 || this[device] is not { } f) data.Fill(0xFF);
        else f.Config.Read(offset, data);
    }

    public void Write(int device, int function, int offset, ReadOnlySpan<byte> data)
    {
        if (function == 0 && this[device] is { } f) f.Config.Write(offset, data);
    }
}
