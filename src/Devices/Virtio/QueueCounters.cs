namespace Csvmm.Devices.Virtio;

/// <summary>
/// Per-queue statistics. Plain fields updated with <see cref="Interlocked"/>; readers use
/// <see cref="Interlocked.Read(ref long)"/> (or just read them: torn reads cannot happen on x86_64).
/// </summary>
public sealed class QueueCounters
{
    /// <summary>Eventfd wake-ups (ioeventfd kicks or QueueNotify writes) seen by the event loop.</summary>
    public long Notifications;

    /// <summary>Used-buffer interrupts raised for this queue.</summary>
    public long Interrupts;

    /// <summary>Chains handed to the device.</summary>
    public long Chains;

    /// <summary>
    /// Chains refused by descriptor validation: completed with an error status or len 0, or — when
    /// the device cannot complete one safely — the queue is stopped (also counted in <see cref="RingErrors"/>).
    /// </summary>
    public long BadChains;

    /// <summary>Times the queue was stopped (device needs reset): a corrupt ring, or a chain the device could not complete.</summary>
    public long RingErrors;

    public override string ToString() =>
        $"notifications={Interlocked.Read(ref Notifications)} interrupts={Interlocked.Read(ref Interrupts)} " +
        $"chains={Interlocked.Read(ref Chains)} bad_chains={Interlocked.Read(ref BadChains)} " +
        $"ring_errors={Interlocked.Read(ref RingErrors)}";
}
