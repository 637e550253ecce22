using Csvmm.Devices.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Xunit;

namespace Csvmm.Devices.Tests.Logging;

/// <summary>A guest cannot flood the log: each reason gets a burst, then one line per interval, with a count of what was dropped.</summary>
public sealed class GuestLogTests
{
    private sealed class Collector : ILogEventSink
    {
        public readonly List<LogEvent> Events = [];
        public void Emit(LogEvent logEvent) => Events.Add(logEvent);
    }

    private readonly Collector _sink = new();
    private long _now;
    private readonly GuestLog _log;

    public GuestLogTests()
    {
        var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_sink).CreateLogger();
        _log = new GuestLog(logger, "virtio-blk vda", () => _now);
    }

    [Fact]
    public void A_flood_of_one_reason_logs_a_burst_then_counts_the_rest()
    {
        for (int i = 0; i < 10_000; i++) _log.Warning("bad request {Head}", i);
        Assert.Equal(GuestLog.Burst, _sink.Events.Count);
        Assert.Equal(10_000 - GuestLog.Burst, _log.Suppressed);
    }

    [Fact]
    public void After_the_interval_one_more_line_gets_through_with_the_suppressed_count()
    {
        for (int i = 0; i < 100; i++) _log.Warning("bad request {Head}", i);
        _now += (long)GuestLog.RefillInterval.TotalMilliseconds;
        _log.Warning("bad request {Head}", 100);
        var last = _sink.Events.TakeLast(2).ToList();
        Assert.Contains("90 similar messages suppressed", last[0].RenderMessage());
        Assert.Equal("bad request 100", last[1].RenderMessage());
    }

    [Fact]
    public void Reasons_are_limited_separately()
    {
        for (int i = 0; i < 100; i++) _log.Warning("reason A {N}", i);
        _log.Warning("reason B {N}", 1);
        Assert.Equal("reason B 1", _sink.Events[^1].RenderMessage());
    }

    [Fact]
    public void Disabled_levels_consume_nothing()
    {
        var quiet = new GuestLog(new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Sink(_sink).CreateLogger(), "x", () => _now);
        for (int i = 0; i < 100; i++) quiet.Debug("noise {N}", i);
        Assert.Empty(_sink.Events);
        Assert.Equal(0, quiet.Suppressed);
    }
}
