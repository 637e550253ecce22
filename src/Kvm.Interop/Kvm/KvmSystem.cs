using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>The /dev/kvm system descriptor.</summary>
public sealed unsafe class KvmSystem : KvmFd
{
    public const int ExpectedApiVersion = 12;
    public const string DefaultPath = "/dev/kvm";

    private KvmSystem(FileDescriptor fd, string path) : base(fd) => Path = path;

    public string Path { get; }

    /// <summary>Opens the KVM device and checks the API version; errors are <see cref="KvmUnavailableException"/>.</summary>
    public static KvmSystem Open(string path = DefaultPath)
    {
        int fd = Sys.Open(path, Sys.O_RDWR | Sys.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Sys.LastErrno;
            string why = errno switch
            {
                Sys.ENOENT => $"{path} does not exist: this host has no KVM (enable virtualization or load kvm_intel/kvm_amd)",
                Sys.EACCES or Sys.EPERM => $"no permission to open {path}: run as root or add your user to the 'kvm' group",
                _ => $"cannot open {path}: {Sys.StrError(errno)}",
            };
            throw new KvmUnavailableException(why, errno);
        }

        var sys = new KvmSystem(new FileDescriptor(fd), path);
        int version;
        try
        {
            version = sys.IoctlValue(KvmIoctl.GetApiVersion);
        }
        catch (KvmException e)
        {
            sys.Dispose();
            throw new KvmUnavailableException($"{path} is not a KVM device ({e.Message})", e.Errno);
        }

        if (version != ExpectedApiVersion)
        {
            sys.Dispose();
            throw new KvmUnavailableException($"{path} speaks KVM API {version}, csvmm needs {ExpectedApiVersion}", 0);
        }
        return sys;
    }

    public int CheckExtension(KvmCap cap) => IoctlValue(KvmIoctl.CheckExtension, (ulong)cap);

    public int VcpuMmapSize => IoctlValue(KvmIoctl.GetVcpuMmapSize);

    /// <summary>Fails with <see cref="KvmUnavailableException"/> when a capability csvmm depends on is missing.</summary>
    public void RequireCapabilities(params KvmCap[] caps)
    {
        foreach (var cap in caps)
            if (CheckExtension(cap) <= 0)
                throw new KvmUnavailableException($"KVM on this host lacks the {cap} capability that csvmm needs", 0);
    }

    /// <summary>KVM_GET_SUPPORTED_CPUID with room for the kernel maximum of 256 entries.</summary>
    public KvmCpuidEntry2[] GetSupportedCpuid()
    {
        const int max = 256;
        int size = sizeof(KvmCpuid2Header) + max * sizeof(KvmCpuidEntry2);
        byte* buf = stackalloc byte[size];
        new Span<byte>(buf, size).Clear();
        ((KvmCpuid2Header*)buf)->Nent = max;
        IoctlPtr(KvmIoctl.GetSupportedCpuid, buf);
        int n = (int)((KvmCpuid2Header*)buf)->Nent;
        var entries = new KvmCpuidEntry2[n];
        new ReadOnlySpan<KvmCpuidEntry2>(buf + sizeof(KvmCpuid2Header), n).CopyTo(entries);
        return entries;
    }

    private uint[]? _msrIndexList;

    /// <summary>
    /// KVM_GET_MSR_INDEX_LIST: the MSRs KVM can save and restore for a guest (the list "varies by
    /// kvm version and host processor, but does not change otherwise", Documentation/virt/kvm/api.rst
    /// 4.3), so it is asked once. KVM answers E2BIG with the count when the array is too small.
    /// </summary>
    public IReadOnlyList<uint> MsrIndexList => _msrIndexList ??= GetMsrIndexList();

    private uint[] GetMsrIndexList()
    {
        var header = new KvmMsrListHeader();
        int r = IoctlPtrOrErrno(KvmIoctl.GetMsrIndexList, &header);
        if (r >= 0) return [];
        if (-r != Sys.E2BIG) throw new KvmException("KVM_GET_MSR_INDEX_LIST", -r);
        int n = (int)header.Nmsrs;
        var buffer = new byte[sizeof(KvmMsrListHeader) + n * sizeof(uint)];
        fixed (byte* p = buffer)
        {
            ((KvmMsrListHeader*)p)->Nmsrs = (uint)n;
            IoctlPtr(KvmIoctl.GetMsrIndexList, p);
            return new ReadOnlySpan<uint>(p + sizeof(KvmMsrListHeader), n).ToArray();
        }
    }

    public KvmVm CreateVm()
    {
        int fd = IoctlValue(KvmIoctl.CreateVm, 0);
        return new KvmVm(new FileDescriptor(fd), this);
    }
}
