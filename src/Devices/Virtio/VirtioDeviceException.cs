namespace Csvmm.Devices.Virtio;

/// <summary>A virtio device cannot be set up or activated; the message says why.</summary>
public sealed class VirtioDeviceException : Exception
{
    public VirtioDeviceException(string message) : base(message)
    {
    }
}
