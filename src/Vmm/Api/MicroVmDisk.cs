namespace Csvmm.Vmm.Api;

/// <summary>
/// A drive of <see cref="MicroVmSpec"/>. <see cref="DriveId"/> is the API's id (the key of
/// PATCH /drives and of the "block_{id}" metrics), not a guest-visible serial.
/// </summary>
public sealed record MicroVmDisk(string Path, bool ReadOnly, string DriveId, bool IsRoot, string? PartUuid);
