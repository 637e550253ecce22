namespace Csvmm.Devices.Pci;

/// <summary>The host side of one MSI-X vector: where its message goes, and the doorbell that sends it.</summary>
public interface IMsiVector
{
    /// <summary>From now on <see cref="Trigger"/> delivers this message (a validated local-APIC address and data).</summary>
    void Route(ulong address, uint data);

    /// <summary>No message until the next <see cref="Route"/>.</summary>
    void Disable();

    /// <summary>Delivers the message once; never blocks.</summary>
    void Trigger();
}
