using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>GET /version.</summary>
public sealed class FirecrackerVersion
{
    [JsonPropertyName("firecracker_version")]
    public string Version { get; set; } = "";
}
