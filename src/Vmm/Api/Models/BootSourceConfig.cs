using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// PUT /boot-source and the config file's "boot-source" (Firecracker's BootSourceConfig,
/// src/vmm/src/vmm_config/boot_source.rs). <see cref="BootArgs"/> replaces the whole kernel
/// command line when given, as in Firecracker.
/// </summary>
public sealed class BootSourceConfig
{
    [JsonRequired]
    [JsonPropertyName("kernel_image_path")]
    public string KernelImagePath { get; set; } = "";

    [JsonPropertyName("initrd_path")]
    public string? InitrdPath { get; set; }

    [JsonPropertyName("boot_args")]
    public string? BootArgs { get; set; }
}
