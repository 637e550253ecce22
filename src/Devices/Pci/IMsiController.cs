namespace Csvmm.Devices.Pci;

/// <summary>Hands out MSI vectors (in csvmm: a KVM GSI with an MSI route and an irqfd each).</summary>
public interface IMsiController
{
    IMsiVector CreateVector();
}
