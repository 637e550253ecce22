using Serilog;
using Serilog.Events;

namespace Csvmm.Devices.Logging;

/// <summary>
/// Logging for what a guest makes a device (or the VMM) say: each message template is a reason,
/// and each reason may log a burst of <see cref="Burst"/> lines, then one more per
/// <see cref="RefillInterval"/>; the rest are counted and reported as "N similar messages
/// suppressed" with the next line that gets through. A hostile guest can therefore neither flood
/// stderr nor slow a device path down with log I/O (the sink behind the logger is asynchronous as
/// well). Generic overloads keep a suppressed call free of allocation.
/// </summary>
public sealed class GuestLog
{
    public const int Burst = 10;
    public static readonly TimeSpan RefillInterval = TimeSpan.FromSeconds(10);

    private readonly ILogger _log;
    private readonly string _source;
    private readonly Dictionary<string, Bucket> _buckets = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();
    private readonly Func<long> _clock;
    private long _suppressed;

    private sealed class Bucket
    {
        public double Tokens = Burst;
        public long LastRefill;
        public long Suppressed;
    }

    /// <param name="source">Prefix of the "suppressed" line, e.g. <c>virtio-blk vda</c>.</param>
    /// <param name="clock">Milliseconds, for tests; defaults to <see cref="Environment.TickCount64"/>.</param>
    public GuestLog(ILogger? log, string source, Func<long>? clock = null)
    {
        _log = log ?? Serilog.Core.Logger.None;
        _source = source;
        _clock = clock ?? (() => Environment.TickCount64);
    }

    public ILogger Logger => _log;

    /// <summary>Messages suppressed so far, over every reason.</summary>
    public long Suppressed => Interlocked.Read(ref _suppressed);

    public void Warning(string template) { if (Allow(LogEventLevel.Warning, template)) _log.Warning(template); }
    public void Warning<T0>(string template, T0 a) { if (Allow(LogEventLevel.Warning, template)) _log.Warning(template, a); }
    public void Warning<T0, T1>(string template, T0 a, T1 b) { if (Allow(LogEventLevel.Warning, template)) _log.Warning(template, a, b); }
    public void Warning<T0, T1, T2>(string template, T0 a, T1 b, T2 c) { if (Allow(LogEventLevel.Warning, template)) _log.Warning(template, a, b, c); }
    public void Warning(string template, params object?[] args) { if (Allow(LogEventLevel.Warning, template)) _log.Warning(template, args); }
    public void Information<T0>(string template, T0 a) { if (Allow(LogEventLevel.Information, template)) _log.Information(template, a); }
    public void Information<T0, T1>(string template, T0 a, T1 b) { if (Allow(LogEventLevel.Information, template)) _log.Information(template, a, b); }
    public void Debug<T0>(string template, T0 a) { if (Allow(LogEventLevel.Debug, template)) _log.Debug(template, a); }
    public void Debug<T0, T1>(string template, T0 a, T1 b) { if (Allow(LogEventLevel.Debug, template)) _log.Debug(template, a, b); }
    public void Debug<T0, T1, T2>(string template, T0 a, T1 b, T2 c) { if (Allow(LogEventLevel.Debug, template)) _log.Debug(template, a, b, c); }

    /// <summary>Whether a message for <paramref name="reason"/> may be written now (consumes a token).</summary>
    public bool Allow(LogEventLevel level, string reason)
    {
        if (!_log.IsEnabled(level)) return false;
        long suppressed;
        lock (_lock)
        {
            if (!_buckets.TryGetValue(reason, out var b))
                _buckets[reason] = b = new Bucket { LastRefill = _clock() };
            long now = _clock();
            b.Tokens = Math.Min(Burst, b.Tokens + (now - b.LastRefill) / RefillInterval.TotalMilliseconds);
            b.LastRefill = now;
            if (b.Tokens < 1)
            {
                b.Suppressed++;
                Interlocked.Increment(ref _suppressed);
                return false;
            }
            b.Tokens -= 1;
            suppressed = b.Suppressed;
            b.Suppressed = 0;
        }
        if (suppressed > 0)
            _log.Write(level, "{Source}: {Count} similar messages suppressed: {Reason}", _source, suppressed, reason);
        return true;
    }
}
