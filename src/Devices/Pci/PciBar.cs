namespace Csvmm.Devices.Pci;

/// <summary>
/// One memory BAR of a function: its size (a power of two) and the guest-physical address it
/// decodes at, as the VMM placed it or the guest re-programmed it. csvmm only has 64-bit
/// non-prefetchable memory BARs (PCI Local Bus Specification 3.0 §6.2.5.1).
/// </summary>
public sealed class PciBar(int index, ulong size)
{
    /// <summary>The first of the two BAR registers (0, 2 or 4) a 64-bit BAR occupies.</summary>
    public int Index { get; } = index;

    public ulong Size { get; } = size;

    /// <summary>What the BAR registers hold (the guest may write anything: only the size-aligned bits stick).</summary>
    public ulong Address { get; internal set; }

    /// <summary>Where the BAR really decodes now (null: memory decoding is off, or the address was refused).</summary>
    public ulong? MappedAt { get; internal set; }
}
