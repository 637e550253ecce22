using System.Text.RegularExpressions;
using Csvmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Images.Tests;

/// <summary>
/// Boots the guest images under QEMU (the reference VMM): the microVM kernel on microvm, the PCI
/// kernel on pc without ACPI. Guest kernel code is very slow on the csvmm host (nested KVM, PVM
/// backend), so each boot takes about a minute. The boots run one after the other (the boot-test
/// collection) to keep the two host cores free.
/// </summary>
[Collection(BootTest.Collection)]
public sealed class BootTests(ITestOutputHelper log)
{
    /// <summary>A boot plus its steps, which take seconds.</summary>
    private static readonly TimeSpan BootTimeout = BootTest.Limit + TimeSpan.FromMinutes(1);

    [Fact]
    public void BuildPrintsAllPaths()
    {
        var images = GuestImages.FromBuildScript();
        Assert.True(images.MissingReason is null, images.MissingReason);
        var paths = images.Paths;
        foreach (var key in new[] { "CSVMM_IMAGES_DIR", "CSVMM_BZIMAGE", "CSVMM_VMLINUX", "CSVMM_PCI_BZIMAGE", "CSVMM_PCI_VMLINUX", "CSVMM_INITRAMFS", "CSVMM_ROOTFS" })
        {
            Assert.True(paths.ContainsKey(key), $"build.sh --print-paths did not print {key}");
            Assert.True(key == "CSVMM_IMAGES_DIR" ? Directory.Exists(paths[key]) : File.Exists(paths[key]), $"{key}={paths[key]} does not exist");
        }
        Assert.True(paths.ContainsKey("CSVMM_GUEST_CMDLINE"));
    }

    /// <summary>
    /// The PCI kernel has the virtio and PCI options of Linux's kernel/configs/kvm_guest.config
    /// and no virtio-mmio (images/kernel-pci.config); the microVM kernel keeps virtio-mmio.
    /// Read from the .config files build.sh copies next to the kernels.
    /// </summary>
    [Fact]
    public void PciKernelHasVirtioPciAndNoVirtioMmio()
    {
        var images = GuestImages.FromBuildScript();
        Assert.True(images.MissingReason is null, images.MissingReason);
        string dir = images.Paths["CSVMM_IMAGES_DIR"];
        var pci = File.ReadAllLines(Path.Combine(dir, "pci-kernel.config"));
        foreach (var opt in new[] { "PCI", "PCI_MSI", "PCI_DIRECT", "VIRTIO_PCI", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_CONSOLE", "NET_9P", "NET_9P_VIRTIO", "9P_FS" })
        {
            Assert.Contains($"CONFIG_{opt}=y", pci);
        }
        Assert.Contains("# CONFIG_VIRTIO_MMIO is not set", pci);
        Assert.Contains("# CONFIG_ACPI is not set", pci);
        Assert.Contains("# CONFIG_JUMP_LABEL is not set", pci);
        var microvm = File.ReadAllLines(Path.Combine(dir, "kernel.config"));
        Assert.Contains("CONFIG_VIRTIO_MMIO=y", microvm);
        Assert.Contains("# CONFIG_PCI is not set", microvm);
    }

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void InitramfsGuestRunsInfoStep()
    {
        _ = GuestImages.Instance; // skips, with the reason, when the images are missing
        var r = QemuBoot.Run("initramfs", "info", "CSVMM_DONE", BootTimeout, log);
        Assert.False(r.TimedOut, "guest did not reach CSVMM_DONE in time");
        Assert.NotNull(r.ReadySeconds);
        Assert.NotNull(r.DoneSeconds);
        Assert.Contains("CSVMM_STEP info", r.Output);
        Assert.Matches(new Regex(@"^CSVMM_INFO nproc=1\s*$", RegexOptions.Multiline), r.Output);
        Assert.DoesNotContain("CSVMM_FAIL", r.Output);
    }

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void RootfsGuestBootsFromVda()
    {
        _ = GuestImages.Instance; // skips, with the reason, when the images are missing
        var r = QemuBoot.Run("rootfs", "info", "CSVMM_DONE", BootTimeout, log);
        Assert.False(r.TimedOut, "guest did not reach CSVMM_DONE in time");
        Assert.NotNull(r.ReadySeconds);
        Assert.Matches(new Regex(@"^CSVMM_INFO root=/dev/vda\s*$", RegexOptions.Multiline), r.Output);
        Assert.DoesNotContain("CSVMM_FAIL", r.Output);
    }

    /// <summary>
    /// The PCI kernel on QEMU's pc machine without ACPI: root on virtio-blk-pci, network on
    /// virtio-net-pci (both modern-only, disable-legacy=on). The guest finds them through
    /// configuration mechanism #1, and its `pci` step shows both driven by virtio-pci with MSI-X
    /// enabled in their configuration space and MSI-X vectors allocated.
    /// </summary>
    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void PciKernelBootsFromVirtioBlkPciWithMsix()
    {
        _ = GuestImages.Instance; // skips, with the reason, when the images are missing
        var r = QemuBoot.Run("rootfs", "info,pci,net-up:10.0.2.15/24,ping:10.0.2.2:2", "CSVMM_DONE", BootTimeout, log, "--pci", "--net-user");
        Assert.False(r.TimedOut, "guest did not reach CSVMM_DONE in time");
        Assert.NotNull(r.ReadySeconds);
        Assert.Matches(new Regex(@"^CSVMM_INFO root=/dev/vda\s*$", RegexOptions.Multiline), r.Output);
        Assert.DoesNotMatch(new Regex(@"^CSVMM_INFO cmdline=.*\bpci=off\b", RegexOptions.Multiline), r.Output);
        // modern virtio device IDs (virtio 1.2 section 4.1.2.1): 0x1040 + 2 (block), 0x1040 + 1 (network)
        Assert.Matches(new Regex(@"^CSVMM_PCI \S+ vendor=0x1af4 device=0x1042 class=0x01[0-9a-f]{4} msix=1 msix_table=\d+ irqs=[1-9]\d* driver=virtio-pci\s*$", RegexOptions.Multiline), r.Output);
        Assert.Matches(new Regex(@"^CSVMM_PCI \S+ vendor=0x1af4 device=0x1041 class=0x02[0-9a-f]{4} msix=1 msix_table=\d+ irqs=[1-9]\d* driver=virtio-pci\s*$", RegexOptions.Multiline), r.Output);
        Assert.Matches(new Regex(@"^CSVMM_RESULT ping host=10\.0\.2\.2 sent=2 received=[12] ", RegexOptions.Multiline), r.Output);
        Assert.DoesNotContain("CSVMM_FAIL", r.Output);
    }
}
