using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Images.Tests;

/// <summary>
/// Boots the guest images under QEMU microvm (the reference VMM). Guest kernel
/// code is very slow on the csvmm host (nested KVM, PVM backend), so each boot
/// takes about a minute; timeouts are generous. The boots run one after the
/// other (same collection) to keep the two host cores free.
/// </summary>
[Collection("qemu boots")]
public sealed class BootTests(ITestOutputHelper log)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(600);

    [Fact]
    public void BuildPrintsAllPaths()
    {
        var paths = GuestImages.Get().Paths;
        foreach (var key in new[] { "CSVMM_IMAGES_DIR", "CSVMM_BZIMAGE", "CSVMM_VMLINUX", "CSVMM_INITRAMFS", "CSVMM_ROOTFS" })
        {
            Assert.True(paths.ContainsKey(key), $"build.sh --print-paths did not print {key}");
            Assert.True(key == "CSVMM_IMAGES_DIR" ? Directory.Exists(paths[key]) : File.Exists(paths[key]), $"{key}={paths[key]} does not exist");
        }
        Assert.True(paths.ContainsKey("CSVMM_GUEST_CMDLINE"));
    }

    [KvmFact]
    public void InitramfsGuestRunsInfoStep()
    {
        var r = QemuBoot.Run("initramfs", "info", "CSVMM_DONE", BootTimeout, log);
        Assert.False(r.TimedOut, "guest did not reach CSVMM_DONE in time");
        Assert.NotNull(r.ReadySeconds);
        Assert.NotNull(r.DoneSeconds);
        Assert.Contains("CSVMM_STEP info", r.Output);
        Assert.Matches(new Regex(@"^CSVMM_INFO nproc=1\s*$", RegexOptions.Multiline), r.Output);
        Assert.DoesNotContain("CSVMM_FAIL", r.Output);
    }

    [KvmFact]
    public void RootfsGuestBootsFromVda()
    {
        var r = QemuBoot.Run("rootfs", "info", "CSVMM_DONE", BootTimeout, log);
        Assert.False(r.TimedOut, "guest did not reach CSVMM_DONE in time");
        Assert.NotNull(r.ReadySeconds);
        Assert.Matches(new Regex(@"^CSVMM_INFO root=/dev/vda\s*$", RegexOptions.Multiline), r.Output);
        Assert.DoesNotContain("CSVMM_FAIL", r.Output);
    }
}
