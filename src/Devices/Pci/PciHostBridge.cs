using Csvmm.Devices.Bus;

namespace Csvmm.Devices.Pci;

/// <summary>
/// The host bridge at 00:00.0: class 0x0600 (host bridge), no BARs. Its presence is what makes
/// Linux trust configuration mechanism #1 on a machine without ACPI or DMI tables
/// (arch/x86/pci/direct.c: pci_sanity_check looks for a host bridge or VGA device on bus 0).
/// IDs: Red Hat's QEMU PCIe host bridge (1b36:0008), which no Linux quirk matches.
/// </summary>
public sealed class PciHostBridge : IPciFunction
{
    public PciHostBridge() =>
        Config = new PciConfigSpace(vendor: 0x1B36, device: 0x0008, classCode: 0x060000, revision: 0, subsystemVendor: 0x1B36, subsystem: 0);

    public string Name => "host bridge";

    public PciConfigSpace Config { get; }

    public IBusDevice BarDevice(PciBar bar) => throw new InvalidOperationException("the host bridge has no BARs");
}
