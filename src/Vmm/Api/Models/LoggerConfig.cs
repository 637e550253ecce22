using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PUT /logger and the config file's "logger" (Firecracker's LoggerConfig, src/vmm/src/logger/logging.rs).</summary>
public sealed class LoggerConfig
{
    [JsonPropertyName("log_path")]
    public string? LogPath { get; set; }

    /// <summary>Off, Error, Warning (or Warn), Info, Debug, Trace; case-insensitive.</summary>
    [JsonPropertyName("level")]
    public string? Level { get; set; }

    [JsonPropertyName("show_level")]
    public bool? ShowLevel { get; set; }

    [JsonPropertyName("show_log_origin")]
    public bool? ShowLogOrigin { get; set; }

    [JsonPropertyName("module")]
    public string? Module { get; set; }
}
