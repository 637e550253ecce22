using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;

namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// A drive's cumulative counters under Firecracker's names (BlockDeviceMetrics in
/// src/vmm/src/devices/virtio/block/virtio/metrics.rs), for the keys csvmm has an equivalent of.
/// Written as "block_{drive_id}" plus their sum as "block".
/// </summary>
public static class BlockDeviceMetrics
{
    public static readonly string[] Keys =
    [
        "activate_fails", "execute_fails", "flush_count", "invalid_reqs_count", "queue_event_count",
        "read_bytes", "read_count", "write_bytes", "write_count",
    ];

    public static MetricGroup Create(string driveId) => new($"block_{driveId}", isCounter: true, Keys);

    /// <summary>
    /// Fills <paramref name="group"/> from csvmm's counters of one virtio-blk device and its queue:
    /// reads/writes/flushes by request, bytes, IOERR completions as execute_fails, refused chains
    /// and unsupported request types as invalid_reqs_count, queue notifications as queue_event_count,
    /// times the queue stopped (DEVICE_NEEDS_RESET) as activate_fails.
    /// </summary>
    public static void Fill(MetricGroup group, BlockCounters device, QueueCounters queue)
    {
        group.Set("read_count", device.ReadRequests.Value);
        group.Set("write_count", device.WriteRequests.Value);
        group.Set("flush_count", device.FlushRequests.Value);
        group.Set("read_bytes", device.BytesRead.Value);
        group.Set("write_bytes", device.BytesWritten.Value);
        group.Set("execute_fails", device.IoErrors.Value);
        group.Set("invalid_reqs_count", device.UnsupportedRequests.Value + queue.BadChains.Value);
        group.Set("queue_event_count", queue.Notifications.Value);
        group.Set("activate_fails", queue.RingErrors.Value);
    }
}
