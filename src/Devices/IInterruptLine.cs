namespace Csvmm.Devices;

/// <summary>
/// An edge-triggered interrupt line into the guest (a KVM irqfd on a GSI in csvmm; a counter in tests).
/// Trigger may be called from any thread.
/// </summary>
public interface IInterruptLine
{
    void Trigger();
}
