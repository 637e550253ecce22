using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Vmm.Api;
using Csvmm.Vmm.Api.Metrics;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

public sealed class MetricsTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Two disks and a NIC with counters that move between lines.</summary>
    private sealed class Source : IMetricsSource
    {
        public readonly BlockCounters Root = new(), Data = new();
        public readonly QueueCounters RootQueue = new(), DataQueue = new(), Rx = new(), Tx = new();
        public readonly NetCounters Net = new();
        private readonly MetricGroup _root = BlockDeviceMetrics.Create("rootfs"), _data = BlockDeviceMetrics.Create("data"),
            _eth0 = NetDeviceMetrics.Create("eth0"), _vcpu = VcpuMetrics.Create();

        public void Collect(List<MetricGroup> groups)
        {
            BlockDeviceMetrics.Fill(_root, Root, RootQueue);
            BlockDeviceMetrics.Fill(_data, Data, DataQueue);
            NetDeviceMetrics.Fill(_eth0, Net, Rx, Tx);
            _vcpu.Set("failures", 0);
            groups.AddRange([_root, _data, _eth0, _vcpu]);
        }
    }

    private static JsonElement Parse(byte[] line)
    {
        Assert.Equal((byte)'\n', line[^1]);
        return JsonDocument.Parse(line.AsMemory(0, line.Length - 1)).RootElement;
    }

    [Fact]
    public void Lines_have_firecrackers_shape_with_per_device_groups_and_their_sums()
    {
        var api = new ApiMetrics();
        using var writer = new FirecrackerMetricsWriter(NonBlockingLineFile.Open(_files.PathOf("m")), api, "vm-7",
            new Dictionary<string, string> { ["team"] = "infra" });
        var source = new Source();
        writer.Source = source;
        source.Root.ReadRequests.Add(10);
        source.Root.BytesRead.Add(40960);
        source.Data.ReadRequests.Add(5);
        source.RootQueue.Notifications.Add(7);
        source.Net.RxFrames.Add(3);
        source.Net.TxBytes.Add(1500);

        var line = Parse(writer.Format(1700000000123));
        Assert.Equal(1700000000123, line.GetProperty("utc_timestamp_ms").GetInt64());
        Assert.Equal("vm-7", line.GetProperty("id").GetString());
        Assert.Equal("infra", line.GetProperty("properties").GetProperty("team").GetString());
        Assert.Equal(10, line.GetProperty("block_rootfs").GetProperty("read_count").GetInt64());
        Assert.Equal(40960, line.GetProperty("block_rootfs").GetProperty("read_bytes").GetInt64());
        Assert.Equal(7, line.GetProperty("block_rootfs").GetProperty("queue_event_count").GetInt64());
        Assert.Equal(15, line.GetProperty("block").GetProperty("read_count").GetInt64());
        Assert.Equal(3, line.GetProperty("net_eth0").GetProperty("rx_packets_count").GetInt64());
        Assert.Equal(1500, line.GetProperty("net").GetProperty("tx_bytes_count").GetInt64());
        Assert.Equal(0, line.GetProperty("vcpu").GetProperty("failures").GetInt64());
        Assert.False(line.GetProperty("vcpu").TryGetProperty("exit_io_in", out _), "a key the source does not know is left out");
        Assert.Equal(0, line.GetProperty("put_api_requests").GetProperty("actions_count").GetInt64());
        Assert.True(line.TryGetProperty("api_server", out _));
    }

    [Fact]
    public void Counters_are_reported_as_the_change_since_the_previous_line_and_stores_as_they_are()
    {
        var api = new ApiMetrics();
        using var writer = new FirecrackerMetricsWriter(NonBlockingLineFile.Open(_files.PathOf("m")), api);
        var source = new Source();
        writer.Source = source;
        source.Root.WriteRequests.Add(4);
        api.Put.Increment("drive_count");
        api.Latencies.Set("pause_vm", 321);
        var first = Parse(writer.Format(1));
        source.Root.WriteRequests.Add(2); // 6 in all
        var second = Parse(writer.Format(2));
        Assert.Equal(4, first.GetProperty("block_rootfs").GetProperty("write_count").GetInt64());
        Assert.Equal(2, second.GetProperty("block_rootfs").GetProperty("write_count").GetInt64());
        Assert.Equal(1, first.GetProperty("put_api_requests").GetProperty("drive_count").GetInt64());
        Assert.Equal(0, second.GetProperty("put_api_requests").GetProperty("drive_count").GetInt64());
        Assert.Equal(321, second.GetProperty("latencies_us").GetProperty("pause_vm").GetInt64());
    }

    [Fact]
    public void A_failing_source_is_counted_and_the_line_is_still_written()
    {
        var api = new ApiMetrics();
        using var writer = new FirecrackerMetricsWriter(NonBlockingLineFile.Open(_files.PathOf("m")), api);
        writer.Source = new ThrowingSource();
        var line = Parse(writer.Format(1));
        Assert.Equal(1, line.GetProperty("logger").GetProperty("metrics_fails").GetInt64());
        Assert.False(line.TryGetProperty("block", out _));
    }

    private sealed class ThrowingSource : IMetricsSource
    {
        public void Collect(List<MetricGroup> groups) => throw new InvalidOperationException("counters gone");
    }

    [Fact]
    public void Periodic_flush_writes_lines_on_its_own()
    {
        string path = _files.PathOf("periodic");
        using var writer = new FirecrackerMetricsWriter(NonBlockingLineFile.Open(path), new ApiMetrics());
        writer.StartPeriodic(TimeSpan.FromMilliseconds(50));
        var clock = Stopwatch.StartNew();
        while (File.ReadAllLines(path).Length < 3)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "no periodic metrics lines");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void A_named_pipe_nobody_reads_never_blocks_the_writer_and_drops_whole_lines_once_full()
    {
        string fifo = _files.PathOf("metrics.fifo");
        Assert.Equal(0, Process.Start("mkfifo", fifo)!.WaitForExitAndCode());
        using var output = NonBlockingLineFile.Open(fifo);
        var line = Encoding.ASCII.GetBytes(new string('m', 8191) + "\n");
        var clock = Stopwatch.StartNew();
        int written = 0;
        for (int i = 0; i < 200; i++)
            if (output.WriteLine(line)) written++;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"writes into a full pipe took {clock.Elapsed}");
        Assert.True(output.DroppedLines > 0);
        // What was accepted fits the pipe (64 KiB) plus the pending buffer, in whole lines.
        Assert.InRange(written * 8192, 0, 65536 + NonBlockingLineFile.MaxPendingBytes);
        Assert.Equal(200, written + output.DroppedLines);
    }

    [Fact]
    public void Log_lines_have_firecrackers_format()
    {
        string path = _files.PathOf("fc.log");
        using var output = NonBlockingLineFile.Open(path);
        var log = new Serilog.LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.Sink(new FirecrackerLogSink(output, "vm-9", showLevel: true, showOrigin: false)).CreateLogger();
        var t = new Thread(() => log.Warning("disk {Name} is slow\nsecond line", "vda")) { Name = "fc_vcpu 0" };
        t.Start();
        t.Join();
        string line = File.ReadAllText(path);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7} \[vm-9:fc_vcpu 0:WARN\] disk ""vda"" is slow second line\n$", line);
    }
}
