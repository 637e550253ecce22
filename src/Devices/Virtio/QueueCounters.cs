using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Virtio;

/// <summary>Per-queue statistics; they outlive driver resets (one set per queue index of a transport).</summary>
public sealed class QueueCounters : CounterSet
{
    public Counter Notifications { get; }
    public Counter Interrupts { get; }
    public Counter Requests { get; }
    public Counter BadChains { get; }
    public Counter RingErrors { get; }

    public QueueCounters()
    {
        Notifications = Add(nameof(Notifications), "driver notifications (ioeventfd kicks or QueueNotify writes) seen by the device thread");
        Interrupts = Add(nameof(Interrupts), "used-buffer interrupts raised for this queue");
        Requests = Add(nameof(Requests), "chains handed to the device");
        BadChains = Add(nameof(BadChains), "chains refused by descriptor validation");
        RingErrors = Add(nameof(RingErrors), "times the queue stopped (device needs reset): a corrupt ring, or a chain the device could not complete");
    }
}
