namespace Csvmm.Vmm.Config;

/// <summary>How the guest finds its virtio devices.</summary>
public enum VirtioTransportKind
{
    /// <summary>
    /// virtio-pci (virtio 1.2 §4.1) on a PCI bus found through configuration mechanism #1, with
    /// MSI-X: what a kernel built from x86_64_defconfig + kvm_guest.config has.
    /// </summary>
    Pci,

    /// <summary>virtio-mmio (virtio 1.2 §4.2) windows declared on the command line (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).</summary>
    Mmio,
}
