using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Virtio;

/// <summary>Register-level statistics of one virtio transport.</summary>
public sealed class TransportCounters : CounterSet
{
    public Counter InvalidRegisterAccesses { get; }
    public Counter RuntimeMmioExits { get; }
    public Counter DeviceResets { get; }
    public Counter PollHits { get; }
    public Counter PollMisses { get; }

    public TransportCounters()
    {
        InvalidRegisterAccesses = Add(nameof(InvalidRegisterAccesses),
            "register accesses refused: wrong width or alignment, a missing queue or feature word, outside the set-up window");
        RuntimeMmioExits = Add(nameof(RuntimeMmioExits),
            "register accesses after DRIVER_OK: each is a vCPU exit caused by running I/O (notifications through ioeventfd are not)");
        DeviceResets = Add(nameof(DeviceResets), "driver resets (status 0)");
        PollHits = Add(nameof(PollHits),
            "times the device thread, polling after its rings ran empty, found new buffers: requests that needed no notification");
        PollMisses = Add(nameof(PollMisses), "polling windows that ended without new buffers, after which the device thread slept");
    }
}
