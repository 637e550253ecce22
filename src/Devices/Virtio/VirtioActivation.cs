namespace Csvmm.Devices.Virtio;

/// <summary>
/// One life of a device between DRIVER_OK and the next reset: the queues validated at DRIVER_OK,
/// the negotiated features, and the guard a reset revokes. The device receives it as its
/// <see cref="IVirtioInterrupt"/>, so an interrupt requested after a reset goes nowhere.
/// </summary>
internal sealed class VirtioActivation : IVirtioInterrupt
{
    private readonly VirtioTransportCore _core;

    public VirtioActivation(VirtioTransportCore core, int generation, Virtqueue[] queues, ulong features, QueueGuard guard)
    {
        _core = core;
        Generation = generation;
        Queues = queues;
        Features = features;
        Guard = guard;
    }

    public int Generation { get; }
    public Virtqueue[] Queues { get; }
    public ulong Features { get; }
    public QueueGuard Guard { get; }

    /// <summary>Set on the device thread once the device accepted the activation.</summary>
    public bool DeviceActive { get; set; }

    public void NotifyUsed(int queueIndex)
    {
        if (Guard.IsRevoked || (uint)queueIndex >= (uint)Queues.Length) return;
        var q = Queues[queueIndex];
        if (!q.NeedsInterrupt()) return;
        q.Counters.Interrupts.Increment();
        _core.RaiseQueueInterrupt(queueIndex, this);
    }

    public void NotifyConfigChanged() => _core.NotifyConfigChanged(this);
}
