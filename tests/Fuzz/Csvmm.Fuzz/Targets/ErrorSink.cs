using Serilog.Core;
using Serilog.Events;

namespace Csvmm.Fuzz.Targets;

/// <summary>Keeps the first error-level event that carries an exception.</summary>
internal sealed class ErrorSink : ILogEventSink
{
    public string? First { get; private set; }

    public void Clear() => First = null;

    public void Emit(LogEvent logEvent)
    {
        if (logEvent.Level >= LogEventLevel.Error && logEvent.Exception is { } e && First is null)
            First = $"{logEvent.RenderMessage()}: {e}";
    }
}
