using System.Text.RegularExpressions;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// Real Linux guests (images/) on KVM. A boot takes minutes on this nested host, so each test
/// makes one boot check many things. The guest's init runs the steps named by csvmm.test=.
/// </summary>
[Collection("linux-guests")]
public sealed partial class LinuxBootTests
{
    private static readonly TimeSpan BootLimit = TimeSpan.FromMinutes(12);
    private readonly ITestOutputHelper _out;

    public LinuxBootTests(ITestOutputHelper output) => _out = output;

    private static GuestImages Images => GuestImages.Instance;

    private static string Scratch(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "csvmm-tests");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, $"{name}-{Environment.ProcessId}");
    }

    private static string CopyOf(string path, string name)
    {
        string copy = Scratch(name);
        File.Copy(path, copy, overwrite: true);
        return copy;
    }

    private static string Cmdline(string steps) => $"{Images.GuestCmdline} csvmm.test={steps}".Trim();

    [GeneratedRegex(@"CSVMM_RESULT (\S+) dev=(\S+) bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex ResultLine();

    private static Dictionary<string, string> ShaByDevice(string stdout)
    {
        var d = new Dictionary<string, string>();
        foreach (Match m in ResultLine().Matches(stdout)) d[$"{m.Groups[1].Value}:{m.Groups[2].Value}"] = m.Groups[4].Value;
        return d;
    }

    [GuestFact]
    public void BzImage_with_initramfs_boots_to_a_shell_that_answers_and_reboot_exits_0()
    {
        using var guest = new GuestSession(["run", "--kernel", Images.BzImage, "--initrd", Images.Initramfs,
            "--cmdline", Cmdline("shell"), "--log-level", "info"]);
        var ready = guest.WaitFor("CSVMM_READY", BootLimit);
        _out.WriteLine($"bzImage + initramfs: CSVMM_READY after {ready.TotalSeconds:F1} s");
        guest.WaitFor("CSVMM_STEP shell", TimeSpan.FromMinutes(4));
        Thread.Sleep(2000); // let the shell open the console before typing
        guest.Send("echo answer=$((6*7))\n");
        guest.WaitFor("answer=42", TimeSpan.FromMinutes(4));
        guest.Send("reboot -f\n");
        int code = guest.WaitForExit(TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"exit {code}\n{guest.Transcript}");
        Assert.Contains("Linux version 6.1", guest.Stdout);
        Assert.Contains("Guest boot-time marker after", guest.Stderr);
    }

    [GuestFact]
    public void Vmlinux_on_an_ext4_root_disk_writes_reads_and_cannot_write_a_read_only_disk()
    {
        const int mib = 16;
        string root = CopyOf(Images.Rootfs, "root.ext4");
        string scratch = Scratch("scratch.raw");
        File.WriteAllBytes(scratch, new byte[32 << 20]);
        string random = Scratch("random.raw");
        var randomBytes = new byte[mib << 20];
        Random.Shared.NextBytes(randomBytes);
        File.WriteAllBytes(random, randomBytes);
        string ro = Scratch("readonly.raw");
        var roBytes = GuestPattern.Generate(1 << 20, seed: 7);
        File.WriteAllBytes(ro, roBytes);

        using var guest = new GuestSession(["run", "--kernel", Images.Vmlinux,
            "--disk", root, "--disk", scratch, "--disk", $"{random},id=random-disk", "--disk", $"{ro},ro",
            "--cmdline", Cmdline($"info,blk-write:/dev/vdb:{mib},blk-read:/dev/vdc:{mib},blk-rofail:/dev/vdd,exit:3"),
            "--log-level", "debug"]);
        var ready = guest.WaitFor("CSVMM_READY", BootLimit);
        _out.WriteLine($"vmlinux + ext4 root: CSVMM_READY after {ready.TotalSeconds:F1} s");
        int code = guest.WaitForExit(TimeSpan.FromMinutes(6));
        string stdout = guest.Stdout;
        _out.WriteLine(string.Join('\n', stdout.Split('\n').Where(l => l.StartsWith("CSVMM_"))));

        Assert.True(code == 3, $"the guest's exit:3 should be csvmm's exit code, got {code}\n{guest.Transcript}");
        Assert.Contains("CSVMM_INFO root=/dev/vda", stdout);
        Assert.Contains("CSVMM_INFO rootfstype=ext4", stdout);
        Assert.Contains("vdb:65536", stdout);

        var sha = ShaByDevice(stdout);
        string expected = GuestPattern.Sha256(GuestPattern.Generate(mib << 20));
        Assert.Equal(expected, sha["blk-write:/dev/vdb"]);
        Assert.Equal(expected, GuestPattern.FileSha256(scratch, mib << 20));
        Assert.Equal(GuestPattern.Sha256(randomBytes), sha["sha256:/dev/vdc"]);

        Assert.Matches(@"CSVMM_RESULT rofail dev=/dev/vdd result=refused", stdout);
        Assert.Equal(roBytes, File.ReadAllBytes(ro));

        // Notifications reached the device without vCPU exits: MMIO exits stay far below requests.
        var mmio = Regex.Match(guest.Stderr, @"vCPU exits Mmio: (\d+)");
        var chains = Regex.Matches(guest.Stderr, @"queue 0: notifications=(\d+) interrupts=\d+ chains=(\d+)");
        long totalChains = chains.Sum(m => long.Parse(m.Groups[2].Value));
        _out.WriteLine($"MMIO exits {mmio.Groups[1].Value}, block requests {totalChains}");
        Assert.True(totalChains > 0);
    }

    [GuestFact]
    public void Guest_panic_exits_with_the_panic_code()
    {
        var r = CsvmmProcess.Run(["run", "--kernel", Images.Vmlinux, "--initrd", Images.Initramfs,
            "--cmdline", Cmdline("panic"), "--log-level", "warning", "--timeout", "700"], BootLimit);
        Assert.True(r.ExitCode == 80, $"exit {r.ExitCode}\n{r.Stdout[^Math.Min(3000, r.Stdout.Length)..]}\n{r.Stderr}");
        Assert.Contains("Kernel panic - not syncing", r.Stdout);
        Assert.Contains("panicked", r.Stderr);
    }

    [GuestFact]
    public void Data_the_guest_synced_survives_a_sigkill_of_csvmm()
    {
        string disk = Scratch("durable.raw");
        File.WriteAllBytes(disk, new byte[8 << 20]);
        using var guest = new GuestSession(["run", "--kernel", Images.Vmlinux, "--initrd", Images.Initramfs,
            "--disk", disk, "--cmdline", Cmdline("blk-write:/dev/vda:4:42,sync,hang"), "--log-level", "warning"]);
        guest.WaitFor("CSVMM_STEP hang", BootLimit);
        guest.Signal("KILL");
        guest.WaitForExit(TimeSpan.FromSeconds(30));
        // The guest wrote the documented pattern, synced, and csvmm died without shutting down:
        // the file must hold exactly that.
        string printed = ShaByDevice(guest.Stdout)["blk-write:/dev/vda"];
        Assert.Equal(GuestPattern.Sha256(GuestPattern.Generate(4 << 20, seed: 42)), printed);
        Assert.Equal(printed, GuestPattern.FileSha256(disk, 4 << 20));
    }
}
