namespace Csvmm.Devices.Virtio;

/// <summary>
/// What a device does with each chain <see cref="QueueService.Drain{THandler}"/> pops. Implemented
/// by small structs that call into their device, so the generic loop is specialised per device
/// and allocates nothing.
/// </summary>
public interface IChainHandler
{
    /// <summary>
    /// Handles <paramref name="chain"/> (<paramref name="result"/> is <see cref="PopResult.Chain"/>
    /// or <see cref="PopResult.BadChain"/>) and gives the used length to publish. False means the
    /// device stopped the queue (<see cref="Virtqueue.MarkBroken"/>): nothing is published for it.
    /// </summary>
    bool Handle(DescriptorChain chain, PopResult result, out uint usedLength);
}
