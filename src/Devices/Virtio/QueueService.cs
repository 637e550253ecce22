namespace Csvmm.Devices.Virtio;

/// <summary>
/// The request loop every virtio device runs, written once: pop chains until the ring is empty,
/// re-enable notifications and look again before sleeping (virtio 1.2 §2.7.10, "Available Buffer Notification
/// Suppression": a buffer that
/// arrives between the last pop and the enable would otherwise wait for a kick that never comes),
/// publish each completion, and raise at most one interrupt per batch.
/// </summary>
public static class QueueService
{
    /// <summary>
    /// Chains served per call before the device thread turns to the device's other queues and to
    /// other events: a queue the guest keeps full, or a flood from the backend, cannot starve them.
    /// </summary>
    public const int Budget = 64;

    /// <summary>
    /// Serves <paramref name="queue"/> until it is empty, the handler stops it, or
    /// <paramref name="budget"/> chains were handled. Returns true when chains may remain (budget spent).
    /// </summary>
    public static bool Drain<THandler>(Virtqueue queue, DescriptorChain chain, ref THandler handler,
        IVirtioInterrupt? interrupt, int budget = Budget)
        where THandler : struct, IChainHandler
    {
        bool used = false;
        bool more = false;
        int handled = 0;
        while (true)
        {
            PopResult r;
            while ((r = queue.TryPopChain(chain)) != PopResult.Empty)
            {
                if (r == PopResult.RingCorrupt) goto done; // the transport sets DEVICE_NEEDS_RESET
                if (!handler.Handle(chain, r, out uint length)) goto done;
                queue.AddUsed(chain.Head, length);
                used = true;
                if (++handled >= budget)
                {
                    more = true;
                    goto done;
                }
            }
            if (!queue.EnableNotification()) break;
        }
    done:
        if (used) interrupt?.NotifyUsed(queue.Index);
        return more;
    }
}
