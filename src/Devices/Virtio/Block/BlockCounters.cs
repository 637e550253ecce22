namespace Csvmm.Devices.Virtio.Block;

/// <summary>virtio-blk request statistics (queue-level counters live in <see cref="QueueCounters"/>).</summary>
public sealed class BlockCounters
{
    public long ReadRequests;
    public long WriteRequests;
    public long FlushRequests;
    public long GetIdRequests;
    public long DiscardRequests;
    public long WriteZeroesRequests;
    public long UnsupportedRequests;
    public long BytesRead;
    public long BytesWritten;

    /// <summary>Requests completed with VIRTIO_BLK_S_IOERR (invalid request or host I/O error).</summary>
    public long IoErrors;

    /// <summary>Of <see cref="IoErrors"/>, those caused by a failing host system call.</summary>
    public long HostErrors;

    /// <summary>
    /// Requests whose status byte cannot be located (no device-writable last buffer, or a chain whose
    /// links are broken): the queue stops and the device sets DEVICE_NEEDS_RESET.
    /// </summary>
    public long MissingStatus;

    public override string ToString() =>
        $"reads={Interlocked.Read(ref ReadRequests)} writes={Interlocked.Read(ref WriteRequests)} " +
        $"flushes={Interlocked.Read(ref FlushRequests)} get_id={Interlocked.Read(ref GetIdRequests)} " +
        $"discards={Interlocked.Read(ref DiscardRequests)} write_zeroes={Interlocked.Read(ref WriteZeroesRequests)} " +
        $"unsupported={Interlocked.Read(ref UnsupportedRequests)} bytes_read={Interlocked.Read(ref BytesRead)} " +
        $"bytes_written={Interlocked.Read(ref BytesWritten)} io_errors={Interlocked.Read(ref IoErrors)} " +
        $"host_errors={Interlocked.Read(ref HostErrors)} missing_status={Interlocked.Read(ref MissingStatus)}";
}
