using System.Text;

namespace Csvmm.Vmm.Config;

/// <summary>A disk as the user described it: image path (any path the file system allows), read-only flag, optional GET_ID serial.</summary>
public sealed record DiskConfig(string Path, bool ReadOnly = false, string? Id = null)
{
    /// <summary>virtio-blk's GET_ID answers 20 bytes (virtio 1.2 §5.2.6).</summary>
    public const int MaxIdLength = 20;

    /// <summary>The Firecracker API's drive_id (metrics are reported under it); the CLI names none.</summary>
    public string? Name { get; init; }

    /// <summary>What is wrong with this disk's settings, or null. The one place the rules live.</summary>
    public string? Problem() =>
        Path.Length == 0 ? "missing path"
        : Id is { Length: 0 or > MaxIdLength } ? $"id must be 1-{MaxIdLength} characters"
        : Id is not null && !Ascii.IsValid(Id) ? "id must be ASCII"
        : null;
}
