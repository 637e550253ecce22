namespace Csvmm.Devices.Virtio;

/// <summary>What a device may ask of its transport once activated. Callable from the device thread.</summary>
public interface IVirtioInterrupt
{
    /// <summary>
    /// The device published used buffers on <paramref name="queueIndex"/>: raise a used-buffer
    /// interrupt if the driver wants one (EVENT_IDX / NO_INTERRUPT decide).
    /// </summary>
    void NotifyUsed(int queueIndex);

    /// <summary>The device's configuration space changed: bump ConfigGeneration, raise a config interrupt.</summary>
    void NotifyConfigChanged();
}
