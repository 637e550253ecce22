namespace Csvmm.Devices.Virtio;

/// <summary>
/// How a transport delivers the interrupts of its device: virtio-mmio raises its one line after
/// setting InterruptStatus; virtio-pci uses the MSI-X vector the driver chose for the queue (or for
/// configuration changes). Called on the device thread, or on a vCPU thread for a configuration
/// interrupt; must not block.
/// </summary>
public interface IVirtioSignal
{
    /// <summary>Used buffers were published on <paramref name="queueIndex"/> and the driver wants to know.</summary>
    void SignalQueue(int queueIndex);

    /// <summary>The configuration changed, or the device needs a reset.</summary>
    void SignalConfig();
}
