namespace Csvmm.Devices.Virtio.Block;

/// <summary>Why a disk image could not be opened; the CLI maps each to its own exit code.</summary>
public enum BlockBackendError
{
    NotFound,
    PermissionDenied,
    IsDirectory,
    NotAFile,
    TooSmall,
    InUse,
    IoError,
}
