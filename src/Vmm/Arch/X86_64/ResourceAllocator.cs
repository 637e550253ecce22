namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>Hands out virtio-mmio windows and GSIs, and PCI BAR space, in order, from <see cref="Layout"/>'s ranges.</summary>
public sealed class ResourceAllocator
{
    private int _nextWindow;
    private uint _nextGsi = Layout.FirstVirtioGsi;
    private ulong _nextBar = Layout.PciMmioStart;

    /// <summary>PCI devices besides the host bridge in slot 0 (bus 0, one function each).</summary>
    public static int VirtioPciCapacity => Devices.Pci.PciBus.Slots - 1;

    /// <summary>Address for a BAR of <paramref name="size"/> bytes (a power of two), aligned to its size.</summary>
    public ulong AllocatePciBar(ulong size)
    {
        ulong address = (_nextBar + size - 1) & ~(size - 1);
        if (address + size > Layout.PciMmioEnd)
            throw new InvalidOperationException("out of PCI BAR space");
        _nextBar = address + size;
        return address;
    }

    /// <summary>
    /// How many virtio-mmio devices fit: each needs a window and an IOAPIC pin of its own (a
    /// virtio_mmio.device= declaration names one GSI), and the pins run out first.
    /// </summary>
    public static int VirtioMmioCapacity { get; } = CountUsableGsis();

    private static int CountUsableGsis()
    {
        int n = 0;
        for (uint gsi = Layout.FirstVirtioGsi; gsi < Layout.IoApicPins; gsi++)
            if (!Layout.IsLegacyGsi(gsi)) n++;
        return Math.Min(n, Layout.VirtioMmioWindows);
    }

    /// <summary>The next device window and its interrupt. The config validator keeps callers within <see cref="VirtioMmioCapacity"/>.</summary>
    public (ulong MmioBase, uint Gsi) AllocateVirtio()
    {
        while (Layout.IsLegacyGsi(_nextGsi)) _nextGsi++;
        if (_nextWindow >= Layout.VirtioMmioWindows || _nextGsi >= Layout.IoApicPins)
            throw new InvalidOperationException($"out of virtio-mmio resources after {_nextWindow} devices (the validator allows {VirtioMmioCapacity})");
        var result = (Layout.VirtioMmioAddress(_nextWindow), _nextGsi);
        _nextWindow++;
        _nextGsi++;
        return result;
    }
}
