using Csvmm.Devices.Metrics;

namespace Csvmm.Devices.Virtio.Block;

/// <summary>virtio-blk request statistics (queue-level counters live in <see cref="QueueCounters"/>).</summary>
public sealed class BlockCounters : CounterSet
{
    public Counter ReadRequests { get; }
    public Counter WriteRequests { get; }
    public Counter FlushRequests { get; }
    public Counter GetIdRequests { get; }
    public Counter DiscardRequests { get; }
    public Counter WriteZeroesRequests { get; }
    public Counter UnsupportedRequests { get; }
    public Counter BytesRead { get; }
    public Counter BytesWritten { get; }
    public Counter IoErrors { get; }
    public Counter HostErrors { get; }
    public Counter MissingStatus { get; }

    public BlockCounters()
    {
        ReadRequests = Add(nameof(ReadRequests), "VIRTIO_BLK_T_IN requests");
        WriteRequests = Add(nameof(WriteRequests), "VIRTIO_BLK_T_OUT requests");
        FlushRequests = Add(nameof(FlushRequests), "VIRTIO_BLK_T_FLUSH requests");
        GetIdRequests = Add(nameof(GetIdRequests), "VIRTIO_BLK_T_GET_ID requests");
        DiscardRequests = Add(nameof(DiscardRequests), "VIRTIO_BLK_T_DISCARD requests");
        WriteZeroesRequests = Add(nameof(WriteZeroesRequests), "VIRTIO_BLK_T_WRITE_ZEROES requests");
        UnsupportedRequests = Add(nameof(UnsupportedRequests), "requests answered VIRTIO_BLK_S_UNSUPP");
        BytesRead = Add(nameof(BytesRead), "bytes read from the image for the guest");
        BytesWritten = Add(nameof(BytesWritten), "bytes written to the image for the guest");
        IoErrors = Add(nameof(IoErrors), "requests completed with VIRTIO_BLK_S_IOERR (invalid request or host I/O error)");
        HostErrors = Add(nameof(HostErrors), "of ioErrors, those caused by a failing host system call");
        MissingStatus = Add(nameof(MissingStatus),
            "requests without a locatable status byte: the queue stops and the device sets DEVICE_NEEDS_RESET");
    }
}
