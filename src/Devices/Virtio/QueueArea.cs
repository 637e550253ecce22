namespace Csvmm.Devices.Virtio;

/// <summary>The three guest areas of a split virtqueue (virtio 1.2 §2.7).</summary>
public enum QueueArea
{
    /// <summary>The descriptor table.</summary>
    DescriptorTable,

    /// <summary>The driver area: the available ring.</summary>
    Driver,

    /// <summary>The device area: the used ring.</summary>
    Device,
}
