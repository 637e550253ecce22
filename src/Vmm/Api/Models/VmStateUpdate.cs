using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>PATCH /vm: "Paused" or "Resumed".</summary>
public sealed class VmStateUpdate
{
    [JsonRequired]
    [JsonPropertyName("state")]
    public string State { get; set; } = "";
}
