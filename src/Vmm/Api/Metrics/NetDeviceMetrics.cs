using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Net;

namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// A network interface's cumulative counters under Firecracker's names (NetDeviceMetrics in
/// src/vmm/src/devices/virtio/net/metrics.rs), for the keys csvmm has an equivalent of.
/// Written as "net_{iface_id}" plus their sum as "net".
/// </summary>
public static class NetDeviceMetrics
{
    public static readonly string[] Keys =
    [
        "no_rx_avail_buffer", "rx_bytes_count", "rx_count", "rx_fails", "rx_packets_count",
        "rx_queue_event_count", "rx_tap_event_count", "tap_read_fails", "tap_write_fails",
        "tx_bytes_count", "tx_count", "tx_fails", "tx_malformed_frames", "tx_packets_count",
        "tx_queue_event_count",
    ];

    public static MetricGroup Create(string ifaceId) => new($"net_{ifaceId}", isCounter: true, Keys);

    /// <summary>
    /// Fills <paramref name="group"/> from csvmm's counters of one virtio-net device and its
    /// receive (queue 0) and transmit (queue 1) queues. rx_fails counts frames dropped on the way
    /// in, tx_fails frames dropped on the way out; the "count" keys count frames, as csvmm moves
    /// one frame per operation.
    /// </summary>
    public static void Fill(MetricGroup group, NetCounters device, QueueCounters rx, QueueCounters tx)
    {
        long rxFrames = device.RxFrames.Value, txFrames = device.TxFrames.Value;
        group.Set("rx_bytes_count", device.RxBytes.Value);
        group.Set("rx_packets_count", rxFrames);
        group.Set("rx_count", rxFrames);
        group.Set("tx_bytes_count", device.TxBytes.Value);
        group.Set("tx_packets_count", txFrames);
        group.Set("tx_count", txFrames);
        group.Set("rx_queue_event_count", rx.Notifications.Value);
        group.Set("tx_queue_event_count", tx.Notifications.Value);
        group.Set("rx_tap_event_count", device.BackendWakeups.Value);
        group.Set("tap_read_fails", device.RxBackendErrors.Value);
        group.Set("tap_write_fails", device.TxBackendErrors.Value);
        group.Set("tx_malformed_frames", device.TxBadChains.Value);
        group.Set("no_rx_avail_buffer", device.RxWaitsForBuffers.Value);
        group.Set("rx_fails", device.RxDropsTooBig.Value + device.RxDropsNoBuffer.Value + device.RxBadChains.Value);
        group.Set("tx_fails", device.TxDropsTooBig.Value + device.TxBackendErrors.Value);
    }
}
