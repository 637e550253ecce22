using System.Buffers;
using System.Text.Json;

namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// Writes Firecracker's metrics lines (src/vmm/src/logger/metrics.rs): one JSON object per line,
/// starting with "utc_timestamp_ms", then the optional "id" and "properties", then one object per
/// group. Counters are written as their change since the previous line, as Firecracker's
/// SharedIncMetric is; per-device groups "block_{id}" and "net_{id}" are also summed into "block"
/// and "net". A line is written on <see cref="Flush"/> (PUT /actions FlushMetrics) and, once
/// <see cref="StartPeriodic"/> ran, every 60 s (WRITE_METRICS_PERIOD_MS in src/firecracker/src/metrics.rs).
/// </summary>
public sealed class FirecrackerMetricsWriter : IDisposable
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromMilliseconds(60000);

    private static readonly string[] Aggregated = ["block", "net"];

    private readonly NonBlockingLineFile _output;
    private readonly ApiMetrics _api;
    private readonly string? _id;
    private readonly IReadOnlyDictionary<string, string>? _properties;
    private readonly Dictionary<string, long> _previous = new(StringComparer.Ordinal);
    private readonly List<MetricGroup> _sourceGroups = [];
    private readonly Lock _lock = new();
    private Timer? _timer;

    public FirecrackerMetricsWriter(NonBlockingLineFile output, ApiMetrics api, string? instanceIdToEmit = null,
        IReadOnlyDictionary<string, string>? properties = null)
    {
        _output = output;
        _api = api;
        _id = instanceIdToEmit;
        _properties = properties;
    }

    public string Path => _output.Path;

    /// <summary>The running VM's counters; null before the VM exists (only the API's own groups are written).</summary>
    public IMetricsSource? Source { get; set; }

    /// <summary>Writes one line now; false when the destination did not take it (counted as missed_metrics_count).</summary>
    public bool Flush()
    {
        byte[] line = Format(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        if (_output.WriteLine(line)) return true;
        _api.Logger.Increment("missed_metrics_count");
        return false;
    }

    /// <summary>Flushes every <paramref name="period"/> from now on (Firecracker starts this once the VM is built).</summary>
    public void StartPeriodic(TimeSpan? period = null)
    {
        var p = period ?? DefaultPeriod;
        lock (_lock)
        {
            _timer ??= new Timer(_ =>
            {
                try { Flush(); }
                catch (Exception) { _api.Logger.Increment("metrics_fails"); }
            }, null, p, p);
        }
    }

    /// <summary>Builds the next line (with its newline) and records the counters it reported.</summary>
    public byte[] Format(long utcTimestampMs)
    {
        lock (_lock)
        {
            _sourceGroups.Clear();
            if (Source is { } source)
            {
                try
                {
                    source.Collect(_sourceGroups);
                }
                catch (Exception)
                {
                    _sourceGroups.Clear();
                    _api.Logger.Increment("metrics_fails");
                }
            }

            var buffer = new ArrayBufferWriter<byte>(4096);
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteNumber("utc_timestamp_ms"u8, utcTimestampMs);
                if (_id is not null) w.WriteString("id"u8, _id);
                if (_properties is not null)
                {
                    w.WriteStartObject("properties"u8);
                    foreach (var (k, v) in _properties.OrderBy(p => p.Key, StringComparer.Ordinal))
                        w.WriteString(k, v);
                    w.WriteEndObject();
                }
                WriteGroup(w, _api.ApiServer, null);
                WriteDevices(w, "block");
                WriteGroup(w, _api.Get, null);
                WriteGroup(w, _api.Latencies, null);
                WriteGroup(w, _api.Logger, null);
                WriteDevices(w, "net");
                WriteGroup(w, _api.Patch, null);
                WriteGroup(w, _api.Put, null);
                foreach (var g in _sourceGroups)
                    if (!IsDevice(g)) WriteGroup(w, g, null);
                w.WriteEndObject();
            }
            var line = new byte[buffer.WrittenCount + 1];
            buffer.WrittenSpan.CopyTo(line);
            line[^1] = (byte)'\n';
            return line;
        }
    }

    /// <summary>Every "{kind}_{id}" group of the source, then their sum as "{kind}".</summary>
    private void WriteDevices(Utf8JsonWriter w, string kind)
    {
        var sum = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var g in _sourceGroups)
            if (g.Name.StartsWith(kind + "_", StringComparison.Ordinal))
                WriteGroup(w, g, sum);
        if (sum.Count == 0) return;
        w.WriteStartObject(kind);
        foreach (var (k, v) in sum) w.WriteNumber(k, v);
        w.WriteEndObject();
    }

    private void WriteGroup(Utf8JsonWriter w, MetricGroup g, SortedDictionary<string, long>? sum)
    {
        bool started = false;
        foreach (string key in g.Keys)
        {
            if (g.Get(key) is not { } value) continue;
            if (g.IsCounter)
            {
                string slot = $"{g.Name}.{key}";
                long before = _previous.GetValueOrDefault(slot);
                _previous[slot] = value;
                // A counter that went backwards belongs to a device that was replaced: count from zero.
                value = value >= before ? value - before : value;
            }
            if (!started)
            {
                w.WriteStartObject(g.Name);
                started = true;
            }
            w.WriteNumber(key, value);
            if (sum is not null) sum[key] = sum.GetValueOrDefault(key) + value;
        }
        if (started) w.WriteEndObject();
    }

    private static bool IsDevice(MetricGroup g)
    {
        foreach (string kind in Aggregated)
            if (g.Name.StartsWith(kind + "_", StringComparison.Ordinal)) return true;
        return false;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
        }
        _output.Dispose();
    }
}
