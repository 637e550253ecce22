using System.Text;

namespace Csvmm.Host.Native;

/// <summary>
/// A TAP interface opened through /dev/net/tun for a virtio-net backend (Documentation/networking/tuntap.rst): non-blocking,
/// close-on-exec, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with a 12-byte virtio-net header, so every read
/// yields one frame behind the same header the guest uses, and every write takes one. TUNSETIFF
/// attaches to an existing TAP of that name (if no one else holds it) and creates one otherwise.
/// Bringing the interface up, addressing and bridging it are the host's business.
/// </summary>
public sealed unsafe class TapDevice : IDisposable
{
    public const string DefaultTunPath = "/dev/net/tun";

    /// <summary>IFNAMSIZ - 1: the kernel's limit on interface names.</summary>
    public const int MaxNameLength = 15;

    /// <summary>struct virtio_net_hdr_v1 (with num_buffers): the header size VERSION_1 drivers use.</summary>
    public const int VnetHeaderSize = 12;

    // TUNSETOFFLOAD flags (include/uapi/linux/if_tun.h): what the reader of the TAP (the guest) accepts.
    public const uint OffloadCsum = 0x01;
    public const uint OffloadTso4 = 0x02;
    public const uint OffloadTso6 = 0x04;
    public const uint OffloadTsoEcn = 0x08;
    public const uint OffloadUfo = 0x10;

    private const nuint TUNSETIFF = 0x400454CA;
    private const nuint TUNSETOFFLOAD = 0x400454D0;
    private const nuint TUNSETVNETHDRSZ = 0x400454D8;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;
    private const short IFF_VNET_HDR = 0x4000;
    private const int IfReqSize = 40; // name char[16] @0, flags short @16, rest of the union
    private const int IfNameSize = 16;
    private const int IfReqFlagsOffset = 16;
    private const int ENOTTY = 25;

    private readonly FileDescriptor _fd;

    private TapDevice(FileDescriptor fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    /// <summary>The interface name the kernel attached to.</summary>
    public string Name { get; }

    /// <summary>The non-blocking descriptor: poll it for EPOLLIN (a frame is waiting).</summary>
    public int Fd => _fd.Fd;

    /// <summary>
    /// Interface names the kernel accepts (dev_valid_name), narrowed to a portable set: 1..15 bytes of
    /// letters, digits, '_', '-' and '.', and not "." or "..".
    /// </summary>
    public static bool IsValidName(string? name, out string reason)
    {
        reason = "";
        if (string.IsNullOrEmpty(name))
            reason = "the TAP name is empty";
        else if (name.Length > MaxNameLength)
            reason = $"the TAP name \"{name}\" is longer than {MaxNameLength} characters";
        else if (name is "." or "..")
            reason = $"\"{name}\" is not a valid interface name";
        else
        {
            foreach (char c in name)
            {
                if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') continue;
                reason = $"the TAP name \"{name}\" contains '{c}'; use letters, digits, '_', '-' or '.'";
                break;
            }
        }
        return reason.Length == 0;
    }

    /// <summary>
    /// Opens (attaching or creating) the TAP <paramref name="name"/>. Throws <see cref="TapException"/>.
    /// <paramref name="tunPath"/> exists for tests.
    /// </summary>
    public static TapDevice Open(string name, string tunPath = DefaultTunPath)
    {
        if (!IsValidName(name, out string why))
            throw new TapException(TapErrorKind.InvalidName, name ?? "", why);

        int raw;
        while ((raw = Sys.Open(tunPath, Sys.O_RDWR | Sys.O_NONBLOCK | Sys.O_CLOEXEC, 0)) < 0 && Sys.LastErrno == Sys.EINTR)
        {
        }
        if (raw < 0)
        {
            int errno = Sys.LastErrno;
            throw errno switch
            {
                Sys.ENOENT or Sys.ENODEV or Sys.ENXIO => new TapException(TapErrorKind.NoTunDevice, name,
                    $"cannot open {tunPath}: {Sys.StrError(errno)}; load the tun module (modprobe tun) or give the container /dev/net/tun", errno),
                Sys.EACCES or Sys.EPERM => new TapException(TapErrorKind.PermissionDenied, name,
                    $"cannot open {tunPath}: {Sys.StrError(errno)}; run with access to /dev/net/tun", errno),
                _ => new TapException(TapErrorKind.Other, name, $"cannot open {tunPath}: {Sys.StrError(errno)}", errno),
            };
        }

        var fd = new FileDescriptor(raw);
        try
        {
            byte* ifr = stackalloc byte[IfReqSize];
            new Span<byte>(ifr, IfReqSize).Clear();
            Encoding.ASCII.GetBytes(name, new Span<byte>(ifr, IfNameSize - 1));
            *(short*)(ifr + IfReqFlagsOffset) = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
            if (Sys.Ioctl(raw, TUNSETIFF, ifr) != 0)
                throw SetIffError(name, tunPath, Sys.LastErrno);
            string actual = Encoding.ASCII.GetString(new ReadOnlySpan<byte>(ifr, IfNameSize - 1).TrimEnd((byte)0));

            // After IFF_VNET_HDR the header size defaults to 10 (the legacy layout); VERSION_1 needs 12.
            int size = VnetHeaderSize;
            if (Sys.Ioctl(raw, TUNSETVNETHDRSZ, &size) != 0)
            {
                int errno = Sys.LastErrno;
                throw new TapException(TapErrorKind.Other, name,
                    $"TAP {name}: setting the virtio-net header size to {VnetHeaderSize} failed: {Sys.StrError(errno)}", errno);
            }
            // Nothing is offloaded until a driver negotiates it (a reused TAP may keep old settings).
            if (Sys.Ioctl(raw, TUNSETOFFLOAD, (nuint)0) != 0)
            {
                int errno = Sys.LastErrno;
                throw new TapException(TapErrorKind.Other, name,
                    $"TAP {name}: clearing offloads failed: {Sys.StrError(errno)}", errno);
            }
            return new TapDevice(fd, actual.Length > 0 ? actual : name);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static TapException SetIffError(string name, string tunPath, int errno) => errno switch
    {
        Sys.EBUSY => new TapException(TapErrorKind.Busy, name,
            $"TAP {name} is in use by another process; stop it or choose another name", errno),
        Sys.EPERM or Sys.EACCES => new TapException(TapErrorKind.PermissionDenied, name,
            $"no permission for TAP {name}: creating one needs CAP_NET_ADMIN; or pre-create it with " +
            $"'ip tuntap add dev {name} mode tap user <you>'", errno),
        Sys.EINVAL => new TapException(TapErrorKind.Other, name,
            $"TAP {name}: the kernel refused TUNSETIFF ({Sys.StrError(errno)}); an interface of that name may exist and not be a TAP", errno),
        ENOTTY => new TapException(TapErrorKind.NoTunDevice, name,
            $"{tunPath} is not the tun/tap clone device ({Sys.StrError(errno)})", errno),
        _ => new TapException(TapErrorKind.Other, name, $"TAP {name}: TUNSETIFF failed: {Sys.StrError(errno)}", errno),
    };

    /// <summary>TUNSETOFFLOAD (flags by value, drivers/net/tun.c set_offload). Returns errno (0 on success).</summary>
    public int SetOffload(uint flags) => Sys.Ioctl(_fd.Fd, TUNSETOFFLOAD, (nuint)flags) == 0 ? 0 : Sys.LastErrno;

    /// <summary>
    /// readv(2) of one frame with its header: its length, or -errno (-EAGAIN: none waiting). A frame
    /// longer than the iovecs is cut short (the rest is lost); the result is then the iovecs' total
    /// or, on some kernels, the full frame length.
    /// </summary>
    public long Read(ReadOnlySpan<IoVec> iov)
    {
        fixed (IoVec* p = iov)
        {
            while (true)
            {
                nint n = Sys.Readv(_fd.Fd, p, iov.Length);
                if (n >= 0) return n;
                int errno = Sys.LastErrno;
                if (errno != Sys.EINTR) return -errno;
            }
        }
    }

    /// <summary>writev(2) of one frame with its header: bytes written, or -errno.</summary>
    public long Write(ReadOnlySpan<IoVec> iov)
    {
        fixed (IoVec* p = iov)
        {
            while (true)
            {
                nint n = Sys.Writev(_fd.Fd, p, iov.Length);
                if (n >= 0) return n;
                int errno = Sys.LastErrno;
                if (errno != Sys.EINTR) return -errno;
            }
        }
    }

    public void Dispose() => _fd.Dispose();
}
