using Serilog.Events;

namespace Csvmm.Vmm.Api;

/// <summary>
/// A validated Firecracker logger configuration. <see cref="Output"/> is the opened log_path
/// (null: keep logging where csvmm logs now, stderr; Firecracker would use stdout, which csvmm
/// leaves to the guest console). <see cref="Module"/> is accepted and not applied: it filters by
/// Firecracker's Rust module paths, which csvmm's log events do not have, so applying it would
/// only hide everything.
/// </summary>
public sealed record LoggerSettings
{
    /// <summary>The minimum level; null for "Off".</summary>
    public LogEventLevel? Level { get; init; } = LogEventLevel.Information;

    public bool ShowLevel { get; init; }

    public bool ShowLogOrigin { get; init; }

    public string? Module { get; init; }

    public NonBlockingLineFile? Output { get; init; }

    /// <summary>
    /// Firecracker's level names, case-insensitive (LevelFilter in src/vmm/src/logger/logging.rs):
    /// off, trace, debug, info, warn or warning, error.
    /// </summary>
    public static bool TryParseLevel(string text, out LogEventLevel? level)
    {
        level = text.ToLowerInvariant() switch
        {
            "off" => null,
            "trace" => LogEventLevel.Verbose,
            "debug" => LogEventLevel.Debug,
            "info" => LogEventLevel.Information,
            "warn" or "warning" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            _ => LogEventLevel.Fatal,
        };
        return level != LogEventLevel.Fatal;
    }
}
