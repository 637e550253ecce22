namespace Csvmm.Devices.Virtio;

/// <summary>Outcome of <see cref="Virtqueue.TryPopChain"/>.</summary>
public enum PopResult
{
    /// <summary>No buffers pending (or the queue is not live).</summary>
    Empty,

    /// <summary>A valid chain was walked into the chain object.</summary>
    Chain,

    /// <summary>
    /// The chain broke a rule (<see cref="DescriptorChain.Error"/>); its head is valid, so the device
    /// must still return it with <see cref="Virtqueue.AddUsed"/> (len 0 or an error status written at
    /// <see cref="DescriptorChain.TryGetLastWritableByte"/>) — or, when no answer is safe, stop the
    /// queue with <see cref="Virtqueue.MarkBroken"/>.
    /// </summary>
    BadChain,

    /// <summary>
    /// The ring itself is corrupt (pending count above the queue size, head index out of range): the
    /// queue is now broken and the transport sets DEVICE_NEEDS_RESET.
    /// </summary>
    RingCorrupt,
}
