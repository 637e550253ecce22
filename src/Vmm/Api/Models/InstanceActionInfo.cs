using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PUT /actions: "InstanceStart", "SendCtrlAltDel" or "FlushMetrics".</summary>
public sealed class InstanceActionInfo
{
    [JsonRequired]
    [JsonPropertyName("action_type")]
    public string ActionType { get; set; } = "";
}
