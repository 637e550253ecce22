using Csvmm.Host.Native;

namespace Csvmm.Devices.Virtio.Net;

/// <summary>
/// Where a virtio-net device sends and receives frames: a TAP in production (<see cref="TapBackend"/>),
/// a fake in tests. Every frame travels behind its 12-byte virtio-net header (IFF_VNET_HDR semantics).
/// Calls never block and never throw.
/// </summary>
public interface INetBackend
{
    /// <summary>A descriptor that polls readable (EPOLLIN) when a frame may be waiting; edge-triggered use is fine.</summary>
    int Fd { get; }

    /// <summary>
    /// Reads one frame with its header into <paramref name="iov"/>. Returns the frame's length
    /// (header included); when the iovecs were too short the tail is lost and the result is either
    /// the full length or the iovecs' total (tun does either, depending on the kernel). -EAGAIN when
    /// no frame is waiting; another -errno on failure.
    /// </summary>
    long Read(ReadOnlySpan<IoVec> iov);

    /// <summary>Writes one frame with its header, gathered from <paramref name="iov"/>: bytes written or -errno.</summary>
    long Write(ReadOnlySpan<IoVec> iov);

    /// <summary>Sets the TUN_F_* offloads the reader (the guest) accepts. Returns errno (0 on success).</summary>
    int SetOffload(uint tunFlags);
}
