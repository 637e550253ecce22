namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>Hands out virtio-mmio windows and GSIs in order, from <see cref="Layout"/>'s ranges.</summary>
public sealed class ResourceAllocator
{
    private int _nextWindow;
    private uint _nextGsi = Layout.FirstVirtioGsi;

    /// <summary>The next device window and its interrupt; throws when the VM is out of either.</summary>
    public (ulong MmioBase, uint Gsi) AllocateVirtio()
    {
        if (_nextWindow >= Layout.MaxVirtioDevices)
            throw new InvalidOperationException($"too many virtio devices (max {Layout.MaxVirtioDevices})");
        // Skip GSIs the legacy PC platform owns: 8 (RTC) and 12 (PS/2 mouse).
        while (_nextGsi is 8 or 12) _nextGsi++;
        if (_nextGsi >= Layout.IoApicPins)
            throw new InvalidOperationException($"out of interrupt lines: at most {Layout.IoApicPins - Layout.FirstVirtioGsi - 2} virtio devices");
        var result = (Layout.VirtioMmioAddress(_nextWindow), _nextGsi);
        _nextWindow++;
        _nextGsi++;
        return result;
    }
}
