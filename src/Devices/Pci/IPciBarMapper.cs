namespace Csvmm.Devices.Pci;

/// <summary>
/// Puts a function's BAR on the guest's memory bus and takes it off again, on behalf of the
/// function's config space: at start-up, when the guest turns memory decoding on or off, and when
/// it moves a BAR. Implemented by the VMM, which knows where RAM and the other devices are.
/// </summary>
public interface IPciBarMapper
{
    /// <summary>
    /// Decodes <paramref name="bar"/> of <paramref name="function"/> at <paramref name="address"/>.
    /// False refuses it (the range overlaps RAM, another device, or leaves the MMIO hole); the BAR
    /// then decodes nowhere.
    /// </summary>
    bool TryMap(IPciFunction function, PciBar bar, ulong address);

    /// <summary>Stops decoding <paramref name="bar"/>.</summary>
    void Unmap(IPciFunction function, PciBar bar);
}
