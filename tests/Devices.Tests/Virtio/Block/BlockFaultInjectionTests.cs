using Csvmm.Devices.Virtio;
using Csvmm.Host.Native;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Block.BlockHarness;
using static Csvmm.Devices.Tests.Virtio.RingLayout;
using static Csvmm.Devices.Virtio.Block.BlockProtocol;

namespace Csvmm.Devices.Tests.Virtio.Block;

/// <summary>
/// Host-side failures injected through <see cref="FaultyBlockBackend"/>: every one must end as
/// VIRTIO_BLK_S_IOERR for that request only (used.len 1, counted), never as OK with data missing,
/// and the device must keep serving (no DEVICE_NEEDS_RESET).
/// </summary>
public class BlockFaultInjectionTests
{
    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 + seed)).ToArray();

    private static void AssertStillServing(BlockHarness h, FaultyBlockBackend disk)
    {
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
        var data = Pattern(1024, 77);
        Assert.Equal((StatusOk, 1u), h.Submit(TypeOut, 40, 1024, data));
        Assert.Equal(data, disk.Bytes.AsSpan(40 * 512, 1024).ToArray());
        Assert.Equal((StatusOk, 1025u), h.Submit(TypeIn, 40, 1024));
        Assert.Equal(data, h.Ring.Buffer.AsSpan((int)Data, 1024).ToArray());
    }

    [Theory]
    [InlineData(Errno.EIO)]
    [InlineData(Errno.ENOSPC)]
    public void Write_failing_in_the_backend_is_an_io_error_and_later_requests_work(int errno)
    {
        var disk = new FaultyBlockBackend { WriteError = errno };
        using var h = new BlockHarness(disk);
        var before = disk.Bytes.ToArray();

        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeOut, 8, 512, Pattern(512, 1)));
        Assert.Equal(1, h.Device.Counters.IoErrors.Value);
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        Assert.Equal(0, h.Device.Counters.BytesWritten.Value);
        Assert.Equal(before, disk.Bytes);

        disk.WriteError = 0;
        AssertStillServing(h, disk);
    }

    [Fact]
    public void Read_failing_in_the_backend_is_an_io_error_with_len_1_not_data_plus_1()
    {
        var disk = new FaultyBlockBackend { ReadError = Errno.EIO };
        using var h = new BlockHarness(disk);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeIn, 0, 2048));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        Assert.Equal(0, h.Device.Counters.BytesRead.Value);

        disk.ReadError = 0;
        AssertStillServing(h, disk);
    }

    [Fact]
    public void Flush_failing_in_the_backend_is_an_io_error()
    {
        var disk = new FaultyBlockBackend { FlushError = Errno.EIO };
        using var h = new BlockHarness(disk);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeFlush, 0));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        Assert.Equal(Errno.EIO, h.Device.SyncFailure);
    }

    /// <summary>
    /// Linux reports a writeback error to fdatasync once; the pages it could not write may be gone.
    /// A FLUSH after a failed one must therefore fail too, even when the next fdatasync would
    /// return 0, or the guest would believe data durable that never reached the disk.
    /// </summary>
    [Fact]
    public void After_a_failed_flush_every_later_flush_fails_even_when_fdatasync_succeeds_again()
    {
        var disk = new FaultyBlockBackend { FlushError = Errno.EIO };
        using var h = new BlockHarness(disk);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeFlush, 0));
        disk.FlushError = 0; // the kernel has "forgotten" the error, as it does after reporting it once
        Assert.Equal(StatusOk, h.Submit(TypeOut, 0, 512, Pattern(512, 3)).Status);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeFlush, 0));
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeFlush, 0));
        Assert.Equal(Errno.EIO, h.Device.SyncBackend());
        Assert.Equal(1, disk.FlushCalls); // later flushes did not ask the kernel again
        // Reads and writes still work: only durability is in doubt.
        Assert.Equal(StatusOk, h.Submit(TypeIn, 0, 512).Status);
    }

    [Fact]
    public void Write_whose_sync_fails_without_negotiated_flush_is_an_io_error()
    {
        // Without FLUSH the driver assumes write-through, so a failed fdatasync fails the write itself.
        var disk = new FaultyBlockBackend { FlushError = Errno.EIO };
        using var h = new BlockHarness(disk, features: VirtioFeatures.Version1);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeOut, 0, 512, Pattern(512, 2)));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
    }

    [Theory]
    [InlineData(TypeDiscard)]
    [InlineData(TypeWriteZeroes)]
    public void Discard_and_write_zeroes_failing_with_enospc_are_io_errors(uint type)
    {
        var disk = new FaultyBlockBackend { ZeroError = Errno.ENOSPC };
        using var h = new BlockHarness(disk);
        var segment = new byte[16];
        segment[0] = 4;  // sector 4
        segment[8] = 2;  // 2 sectors
        Assert.Equal((StatusIoErr, 1u), h.Submit(type, 0, 16, segment));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        disk.ZeroError = 0;
        AssertStillServing(h, disk);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]   // cuts inside a segment
    [InlineData(512)]   // cuts on a segment boundary
    public void Short_writes_are_retried_until_every_byte_is_on_disk(int maxBytesPerCall)
    {
        var disk = new FaultyBlockBackend { MaxBytesPerCall = maxBytesPerCall };
        using var h = new BlockHarness(disk);
        // Three data segments, so the retry must walk across iovec boundaries.
        var payload = Pattern(3 * 512, 5);
        h.WriteHeader(TypeOut, 12);
        payload.CopyTo(h.Ring.Buffer.AsSpan((int)Data));
        ushort head = h.Reserve(5);
        h.Ring.SetDescriptor(head, HeaderArea, 16, Next, (ushort)(head + 1));
        for (int i = 0; i < 3; i++)
            h.Ring.SetDescriptor(head + 1 + i, Data + (ulong)(512 * i), 512, Next, (ushort)(head + 2 + i));
        h.Ring.SetDescriptor(head + 4, StatusArea, 1, Write);

        Assert.Equal((StatusOk, 1u), h.Run(head));
        Assert.Equal(payload, disk.Bytes.AsSpan(12 * 512, 3 * 512).ToArray());
        Assert.Equal((3 * 512 + maxBytesPerCall - 1) / maxBytesPerCall, disk.WriteCalls);
        Assert.Equal(3 * 512, h.Device.Counters.BytesWritten.Value);
    }

    [Fact]
    public void Short_reads_are_retried_until_the_buffer_is_full()
    {
        var disk = new FaultyBlockBackend { MaxBytesPerCall = 300 };
        using var h = new BlockHarness(disk);
        Assert.Equal((StatusOk, 2049u), h.Submit(TypeIn, 3, 2048));
        Assert.Equal(disk.Bytes.AsSpan(3 * 512, 2048).ToArray(), h.Ring.Buffer.AsSpan((int)Data, 2048).ToArray());
        Assert.Equal(7, disk.ReadCalls);
    }

    [Theory]
    [InlineData(-Errno.ENOSPC)]
    [InlineData(0L)]    // the disk stops taking bytes without an error
    public void Write_cut_short_by_a_full_disk_is_an_io_error_never_ok(long fullResult)
    {
        var disk = new FaultyBlockBackend { SpaceLeft = 700, FullResult = fullResult };
        using var h = new BlockHarness(disk);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeOut, 0, 1024, Pattern(1024, 9)));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        Assert.Equal(0, h.Device.Counters.BytesWritten.Value);

        disk.SpaceLeft = long.MaxValue;
        AssertStillServing(h, disk);
    }

    [Fact]
    public void Read_hitting_end_of_file_is_an_io_error()
    {
        // The image shrank under the VM: preadv returns 0 before the request is filled.
        var disk = new FaultyBlockBackend();
        using var h = new BlockHarness(disk);
        disk.ReadableBytes = disk.Bytes.Length - 512;
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeIn, 2046, 1024));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        Assert.Equal((StatusOk, 513u), h.Submit(TypeIn, 2046, 512));
    }

    [Fact]
    public void Backend_reporting_more_bytes_than_asked_is_an_io_error()
    {
        var disk = new FaultyBlockBackend { OverReport = true };
        using var h = new BlockHarness(disk);
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeOut, 0, 512, Pattern(512, 3)));
        disk.OverReport = false;
        AssertStillServing(h, disk);
    }

    private sealed class CountingSink : Serilog.Core.ILogEventSink
    {
        public int Count;
        public void Emit(Serilog.Events.LogEvent logEvent) => Interlocked.Increment(ref Count);
    }

    /// <summary>
    /// A guest that keeps sending requests the host fails (here 1000 reads on a failing disk) gets a
    /// burst of warnings, not one line per request.
    /// </summary>
    [Fact]
    public void A_flood_of_failing_requests_logs_a_bounded_number_of_lines()
    {
        var sink = new CountingSink();
        var log = new Serilog.LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger();
        var disk = new FaultyBlockBackend { ReadError = Errno.EIO };
        using var h = new BlockHarness(disk, log: log);
        int before = sink.Count;
        for (int i = 0; i < 1000; i++)
            Assert.Equal(StatusIoErr, h.Submit(TypeIn, 0, 512).Status);
        Assert.Equal(1000, h.Device.Counters.HostErrors.Value);
        Assert.InRange(sink.Count - before, 1, 2 * Csvmm.Devices.Logging.GuestLog.Burst);
    }
}
