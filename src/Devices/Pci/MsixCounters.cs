using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Pci;

/// <summary>MSI-X statistics of one function.</summary>
public sealed class MsixCounters : CounterSet
{
    public Counter Delivered { get; }
    public Counter RefusedMessages { get; }
    public Counter InvalidAccesses { get; }

    public MsixCounters()
    {
        Delivered = Add(nameof(Delivered), "MSI-X messages sent to the guest");
        RefusedMessages = Add(nameof(RefusedMessages),
            "vector table entries refused: an address outside the local APIC range, or SMI/NMI/INIT delivery");
        InvalidAccesses = Add(nameof(InvalidAccesses), "vector table accesses that were not aligned 32/64-bit accesses");
    }
}
