using System.Runtime.InteropServices;
using Xunit;

namespace Csvmm.Tests.Support;

/// <summary>
/// Whether this host can run csvmm's guests on KVM, and if not, why: the reason a KVM test is
/// skipped with. Probed once per test process with plain libc calls (open, ioctl), not with
/// csvmm's Kvm.Interop, which is code under test.
/// </summary>
public static partial class KvmHost
{
    public const string Device = "/dev/kvm";

    // <linux/kvm.h>: KVM_API_VERSION is 12; KVM_GET_API_VERSION = _IO(KVMIO, 0x00) and
    // KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03) with KVMIO 0xAE (Documentation/virt/kvm/api.rst 4.1, 4.4).
    private const int ApiVersion = 12;
    private const nuint KvmGetApiVersion = 0xAE00;
    private const nuint KvmCheckExtension = 0xAE03;
    private const int O_RDWR = 2, O_CLOEXEC = 0x80000;

    // What csvmm refuses to start without (it exits 69), numbered as in <linux/kvm.h>.
    private static readonly (int Cap, string Name)[] Needed =
    [
        (0, "KVM_CAP_IRQCHIP"), (3, "KVM_CAP_USER_MEMORY"), (4, "KVM_CAP_SET_TSS_ADDR"),
        (7, "KVM_CAP_EXT_CPUID"), (14, "KVM_CAP_MP_STATE"), (32, "KVM_CAP_IRQFD"), (33, "KVM_CAP_PIT2"),
        (36, "KVM_CAP_IOEVENTFD"), (136, "KVM_CAP_IMMEDIATE_EXIT"),
    ];

    private static readonly Lazy<string?> Reason = new(Probe);

    /// <summary>Null when csvmm can use KVM here, else the reason it cannot.</summary>
    public static string? UnavailableReason => Reason.Value;

    /// <summary>Skips the running test (it must be a KVM or skippable fact) with the reason, unless KVM is usable.</summary>
    public static void Require() => Skip.If(Reason.Value is not null, Reason.Value);

    private static string? Probe()
    {
        if (!File.Exists(Device))
            return $"{Device} does not exist on this host, so tests on real KVM cannot run";
        int fd = Open(Device, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return $"{Device} cannot be opened read-write: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";
        try
        {
            int version = Ioctl(fd, KvmGetApiVersion, 0);
            if (version != ApiVersion)
                return $"{Device} is not a KVM device of API version {ApiVersion} (KVM_GET_API_VERSION: {version})";
            var missing = Needed.Where(c => Ioctl(fd, KvmCheckExtension, (nuint)c.Cap) <= 0).Select(c => c.Name).ToList();
            return missing.Count == 0 ? null : $"KVM on this host lacks {string.Join(", ", missing)}, which csvmm needs";
        }
        finally
        {
            Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(string path, int flags);

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, nuint request, nuint arg);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
