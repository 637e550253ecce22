using Csvmm.Devices.Virtio;

namespace Csvmm.Fuzz.Targets;

/// <summary>A transport stand-in for device targets that drive a device without virtio-mmio.</summary>
public sealed class NullInterrupt : IVirtioInterrupt
{
    public static readonly NullInterrupt Instance = new();

    public void NotifyUsed(int queueIndex)
    {
    }

    public void NotifyConfigChanged()
    {
    }
}
