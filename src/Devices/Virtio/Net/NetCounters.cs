namespace Csvmm.Devices.Virtio.Net;

/// <summary>
/// virtio-net statistics. Notifications (kicks) and interrupts per queue live in the transport's
/// <see cref="QueueCounters"/> (queue 0 rx, queue 1 tx), as for every virtio device.
/// </summary>
public sealed class NetCounters
{
    /// <summary>Frames delivered to the guest, and their bytes (without the virtio-net header).</summary>
    public long RxFrames;
    public long RxBytes;

    /// <summary>Frames sent to the backend, and their bytes (without the virtio-net header).</summary>
    public long TxFrames;
    public long TxBytes;

    /// <summary>RX frames larger than the buffers the driver offered: dropped, the chain returned with len 0.</summary>
    public long RxDropsTooBig;

    /// <summary>RX frames abandoned while waiting for buffers (the device was reset, or all buffers were held and still too small).</summary>
    public long RxDropsNoBuffer;

    /// <summary>Backend reads that failed (other than "nothing waiting") or returned a frame shorter than the header.</summary>
    public long RxBackendErrors;

    /// <summary>TX frames the backend refused (write error or short write): dropped, the chain still completed.</summary>
    public long TxBackendErrors;

    /// <summary>TX frames longer than the largest frame a TAP takes: dropped.</summary>
    public long TxDropsTooBig;

    /// <summary>RX chains refused: malformed (see the queue's counters), a readable buffer, or fewer than 12 writable bytes.</summary>
    public long RxBadChains;

    /// <summary>TX chains refused: malformed, a writable buffer, or fewer than 12 readable bytes.</summary>
    public long TxBadChains;

    /// <summary>Backend readability events seen (edge-triggered wake-ups of the TAP fd).</summary>
    public long BackendWakeups;

    /// <summary>Times RX stopped because the driver had no buffers while frames were waiting.</summary>
    public long RxWaitsForBuffers;

    public override string ToString() =>
        $"rx_frames={Interlocked.Read(ref RxFrames)} rx_bytes={Interlocked.Read(ref RxBytes)} " +
        $"tx_frames={Interlocked.Read(ref TxFrames)} tx_bytes={Interlocked.Read(ref TxBytes)} " +
        $"rx_drops_too_big={Interlocked.Read(ref RxDropsTooBig)} rx_drops_no_buffer={Interlocked.Read(ref RxDropsNoBuffer)} " +
        $"rx_backend_errors={Interlocked.Read(ref RxBackendErrors)} tx_backend_errors={Interlocked.Read(ref TxBackendErrors)} " +
        $"tx_drops_too_big={Interlocked.Read(ref TxDropsTooBig)} rx_bad_chains={Interlocked.Read(ref RxBadChains)} " +
        $"tx_bad_chains={Interlocked.Read(ref TxBadChains)} backend_wakeups={Interlocked.Read(ref BackendWakeups)} " +
        $"rx_waits_for_buffers={Interlocked.Read(ref RxWaitsForBuffers)}";
}
