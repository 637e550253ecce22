using Csvmm.Devices.Bus;
using Csvmm.Devices.Pci;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Serilog;

namespace Csvmm.Vmm.Builder;

/// <summary>
/// Puts PCI BARs on the MMIO bus and their doorbells into KVM, for the firmware's placement at
/// start-up and for every move the guest makes. A BAR must lie wholly inside the PCI window of the
/// MMIO hole (<see cref="Layout.PciMmioStart"/>–<see cref="Layout.PciMmioEnd"/>: never RAM, never
/// the IOAPIC, LAPIC or csvmm's own pages) and overlap no other device; anything else is refused,
/// and the function's config space counts it.
/// </summary>
public sealed class PciBarMapper(DeviceBus mmio, KvmVm vm, ILogger log) : IPciBarMapper
{
    public bool TryMap(IPciFunction function, PciBar bar, ulong address)
    {
        if (address < Layout.PciMmioStart || address > Layout.PciMmioEnd || bar.Size > Layout.PciMmioEnd - address)
        {
            log.Debug("PCI {Function}: BAR {Bar} at 0x{Address:x} refused: outside the PCI window", function.Name, bar.Index, address);
            return false;
        }
        if (!mmio.TryRegister(address, bar.Size, function.BarDevice(bar), $"{function.Name} BAR{bar.Index}", out string why))
        {
            log.Debug("PCI {Function}: BAR {Bar} refused: {Why}", function.Name, bar.Index, why);
            return false;
        }
        foreach (var d in function.Doorbells(bar))
            vm.AssignIoeventfd(d.Event, address + d.Offset, d.Length, d.Datamatch);
        return true;
    }

    public void Unmap(IPciFunction function, PciBar bar)
    {
        if (bar.MappedAt is not { } address) return;
        foreach (var d in function.Doorbells(bar))
            vm.DeassignIoeventfd(d.Event, address + d.Offset, d.Length, d.Datamatch);
        mmio.Unregister(address, function.BarDevice(bar));
    }
}
