using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Pci;

/// <summary>What the guest did to a function's configuration space that csvmm did not follow.</summary>
public sealed class PciCounters : CounterSet
{
    public Counter ReadOnlyWrites { get; }
    public Counter RefusedBarPlacements { get; }

    public PciCounters()
    {
        ReadOnlyWrites = Add(nameof(ReadOnlyWrites), "configuration-space writes to read-only bits (ignored)");
        RefusedBarPlacements = Add(nameof(RefusedBarPlacements),
            "BAR placements refused: over RAM, another device, or outside the MMIO hole (the BAR then decodes nowhere)");
    }
}
