using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Virtio.Net;

/// <summary>
/// virtio-net statistics. Notifications (kicks) and interrupts per queue live in the transport's
/// <see cref="QueueCounters"/> (queue 0 rx, queue 1 tx), as for every virtio device.
/// </summary>
public sealed class NetCounters : CounterSet
{
    public Counter RxFrames { get; }
    public Counter RxBytes { get; }
    public Counter TxFrames { get; }
    public Counter TxBytes { get; }
    public Counter RxDropsTooBig { get; }
    public Counter RxDropsNoBuffer { get; }
    public Counter RxBackendErrors { get; }
    public Counter TxBackendErrors { get; }
    public Counter TxDropsTooBig { get; }
    public Counter RxBadChains { get; }
    public Counter TxBadChains { get; }
    public Counter BackendWakeups { get; }
    public Counter RxWaitsForBuffers { get; }

    public NetCounters()
    {
        RxFrames = Add(nameof(RxFrames), "frames delivered to the guest");
        RxBytes = Add(nameof(RxBytes), "bytes of those frames, without the virtio-net header");
        TxFrames = Add(nameof(TxFrames), "frames sent to the backend");
        TxBytes = Add(nameof(TxBytes), "bytes of those frames, without the virtio-net header");
        RxDropsTooBig = Add(nameof(RxDropsTooBig), "RX frames larger than the buffers the driver offered: dropped");
        RxDropsNoBuffer = Add(nameof(RxDropsNoBuffer), "RX frames abandoned while waiting for buffers (reset, or every buffer too small)");
        RxBackendErrors = Add(nameof(RxBackendErrors), "backend reads that failed or returned less than a header");
        TxBackendErrors = Add(nameof(TxBackendErrors), "TX frames the backend refused (write error or short write): dropped");
        TxDropsTooBig = Add(nameof(TxDropsTooBig), "TX frames longer than a TAP takes: dropped");
        RxBadChains = Add(nameof(RxBadChains), "RX chains refused: malformed, a readable buffer, or fewer than 12 writable bytes");
        TxBadChains = Add(nameof(TxBadChains), "TX chains refused: malformed, a writable buffer, or fewer than 12 readable bytes");
        BackendWakeups = Add(nameof(BackendWakeups), "backend readability events (edge-triggered TAP wake-ups)");
        RxWaitsForBuffers = Add(nameof(RxWaitsForBuffers), "times RX stopped because the driver had no buffers");
    }
}
