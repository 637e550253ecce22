using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PUT /metrics and the config file's "metrics" (Firecracker's MetricsConfig, src/vmm/src/vmm_config/metrics.rs).</summary>
public sealed class MetricsConfig
{
    [JsonRequired]
    [JsonPropertyName("metrics_path")]
    public string MetricsPath { get; set; } = "";

    /// <summary>Write the instance id as a top-level "id" on every line.</summary>
    [JsonPropertyName("emit_id")]
    public bool? EmitId { get; set; }

    /// <summary>Written as a top-level "properties" object on every line.</summary>
    [JsonPropertyName("properties")]
    public Dictionary<string, string>? Properties { get; set; }
}
