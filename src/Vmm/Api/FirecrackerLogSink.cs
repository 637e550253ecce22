using System.Text;
using Serilog.Core;
using Serilog.Events;

namespace Csvmm.Vmm.Api;

/// <summary>
/// A Serilog sink writing Firecracker's log line format (Logger::log in
/// src/vmm/src/logger/logging.rs): <c>TIME [INSTANCE_ID:THREAD(:LEVEL)(:ORIGIN)] MESSAGE</c>, one
/// line per event, to a <see cref="NonBlockingLineFile"/>. Serilog events carry no file and line,
/// so the origin is the event's SourceContext when it has one.
/// </summary>
public sealed class FirecrackerLogSink : ILogEventSink
{
    private readonly NonBlockingLineFile _output;
    private readonly string _instanceId;
    private readonly bool _showLevel;
    private readonly bool _showOrigin;

    public FirecrackerLogSink(NonBlockingLineFile output, string instanceId, bool showLevel, bool showOrigin)
    {
        _output = output;
        _instanceId = instanceId;
        _showLevel = showLevel;
        _showOrigin = showOrigin;
    }

    public void Emit(LogEvent logEvent)
    {
        var line = new StringBuilder(128);
        line.Append(logEvent.Timestamp.LocalDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", System.Globalization.CultureInfo.InvariantCulture));
        line.Append(" [").Append(_instanceId).Append(':').Append(Thread.CurrentThread.Name ?? "-");
        if (_showLevel) line.Append(':').Append(LevelName(logEvent.Level));
        if (_showOrigin && logEvent.Properties.TryGetValue("SourceContext", out var origin))
            line.Append(':').Append(origin.ToString().Trim('"'));
        line.Append("] ").Append(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
        if (logEvent.Exception is { } e) line.Append(": ").Append(e.Message);
        line.Replace('\n', ' ').Append('\n');
        _output.WriteLine(Encoding.UTF8.GetBytes(line.ToString()));
    }

    /// <summary>The Rust log crate's level names, as Firecracker prints them.</summary>
    public static string LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "TRACE",
        LogEventLevel.Debug => "DEBUG",
        LogEventLevel.Information => "INFO",
        LogEventLevel.Warning => "WARN",
        _ => "ERROR",
    };
}
