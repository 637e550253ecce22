using Csvmm.Devices.Bus;

namespace Csvmm.Devices.Pci;

/// <summary>One function on csvmm's PCI bus: its configuration space and the memory its BARs decode.</summary>
public interface IPciFunction
{
    string Name { get; }

    PciConfigSpace Config { get; }

    /// <summary>What answers accesses inside a BAR (offsets are relative to the BAR's base).</summary>
    IBusDevice BarDevice(PciBar bar);

    /// <summary>Writes inside <paramref name="bar"/> that should become ioeventfds rather than exits.</summary>
    IReadOnlyList<PciDoorbell> Doorbells(PciBar bar) => [];
}
