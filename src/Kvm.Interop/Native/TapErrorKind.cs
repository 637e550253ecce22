namespace Csvmm.Host.Native;

/// <summary>Why a TAP device could not be opened; the CLI maps each to its own message and exit code.</summary>
public enum TapErrorKind
{
    /// <summary>The interface name is empty, longer than 15 bytes or has characters other than letters, digits, '_', '-', '.'.</summary>
    InvalidName,

    /// <summary>EBUSY: another process (or another open file) is attached to that TAP.</summary>
    Busy,

    /// <summary>EPERM/EACCES: creating a TAP needs CAP_NET_ADMIN, or the persistent TAP belongs to another user.</summary>
    PermissionDenied,

    /// <summary>/dev/net/tun is missing (no tun module, or a container without the device node).</summary>
    NoTunDevice,

    /// <summary>Anything else (the name belongs to a non-TAP interface, an ioctl the kernel refuses...).</summary>
    Other,
}
