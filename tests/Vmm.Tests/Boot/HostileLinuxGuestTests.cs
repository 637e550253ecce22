using System.Diagnostics;
using System.Security.Cryptography;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// One Linux boot: while the guest's virtio-blk driver owns the first disk, the init step
/// `hostile` scribbles on that disk's virtio-mmio window with busybox devmem (garbage in live
/// registers, a reset under the driver, a queue in the MMIO hole). csvmm must stay up, stop only
/// that device, keep serving the other disk and exit with the status the guest reports.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class HostileLinuxGuestTests
{
    private const int GuestStatus = 37;
    private readonly ITestOutputHelper _out;

    public HostileLinuxGuestTests(ITestOutputHelper output) => _out = output;

    [KvmFact]
    public void Linux_guest_scribbling_on_a_disk_its_driver_owns_cannot_stop_csvmm()
    {
        var images = GuestImages.Instance;
        using var scratch = new ScratchDir("hostile-linux");
        var victimBytes = GuestPattern.Generate(1 << 20, seed: 11);
        string victim = scratch.Write("hostile-victim.raw", victimBytes);
        var otherBytes = GuestPattern.Generate(1 << 20, seed: 12);
        string other = scratch.Write("hostile-other.raw", otherBytes);
        // The boot, then a few seconds of devmem writes and a 1 MiB read.
        var limit = BootTest.Limit + TimeSpan.FromMinutes(2);

        var sw = Stopwatch.StartNew();
        var r = CsvmmProcess.Run(["run", "--transport", images.Transport, "--kernel", images.Vmlinux, "--initrd", images.Initramfs,
            "--disk", victim, "--disk", other,
            "--cmdline", $"{images.GuestCmdline} csvmm.test=hostile:0xd0000000,blk-read:vdb:1,exit:{GuestStatus}".Trim(),
            "--log-level", "warning", "--timeout", ((int)limit.TotalSeconds).ToString()], limit + TimeSpan.FromSeconds(30));
        _out.WriteLine($"hostile Linux guest: csvmm exited {r.ExitCode} after {sw.Elapsed.TotalSeconds:F1} s");
        _out.WriteLine(string.Join('\n', r.Stdout.Split('\n').Where(l => l.StartsWith("CSVMM_"))));
        string transcript = $"{r.Stdout[^Math.Min(3000, r.Stdout.Length)..]}\n{r.Stderr}";

        Assert.True(r.ExitCode == GuestStatus, $"exit {r.ExitCode}, expected the guest's {GuestStatus}\n{transcript}");
        Assert.Contains("CSVMM_RESULT hostile base=0xd0000000 status=0x0000004F magic=0x74726976", r.Stdout);
        Assert.DoesNotContain("CSVMM_FAIL", r.Stdout);
        Assert.Contains("needs reset: queue 0: descriptor table 0xf0000000", r.Stderr);
        // The other disk still answers, with the right data.
        Assert.Contains($"CSVMM_RESULT sha256 dev=/dev/vdb bytes={1 << 20} sha256={GuestPattern.Sha256(otherBytes)}", r.Stdout);
        // Linux only ever read the victim (partition scan); nothing reached the image.
        Assert.Equal(SHA256.HashData(victimBytes), SHA256.HashData(File.ReadAllBytes(victim)));
    }
}
