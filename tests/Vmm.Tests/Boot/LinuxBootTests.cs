using System.Text.Json;
using System.Text.RegularExpressions;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// Real Linux guests (images/) on KVM. A boot takes a minute or more on the nested build host, so
/// each test makes one boot check many things. The guest's init runs the steps named by csvmm.test=
/// (images/README.md, "Guest contract").
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed partial class LinuxBootTests : IDisposable
{
    private readonly ITestOutputHelper _out;
    private readonly ScratchDir _scratch = new("linux");

    public LinuxBootTests(ITestOutputHelper output) => _out = output;

    public void Dispose() => _scratch.Dispose();

    private static GuestImages Images => GuestImages.Instance;

    private string Scratch(string name) => _scratch.File(name);

    private string CopyOf(string path, string name)
    {
        string copy = Scratch(name);
        File.Copy(path, copy);
        return copy;
    }

    private static string Cmdline(string steps) => $"{Images.GuestCmdline} csvmm.test={steps}".Trim();

    /// <summary>csvmm's own --timeout for a run that boots and then works for <paramref name="work"/>.</summary>
    private static string TimeoutFor(TimeSpan work) => ((int)(BootTest.Limit + work).TotalSeconds).ToString();

    [GeneratedRegex(@"CSVMM_RESULT (\S+) dev=(\S+) (?:skip=\d+ )?bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex ResultLine();

    private static Dictionary<string, string> ShaByDevice(string stdout)
    {
        var d = new Dictionary<string, string>();
        foreach (Match m in ResultLine().Matches(stdout)) d[$"{m.Groups[1].Value}:{m.Groups[2].Value}"] = m.Groups[4].Value;
        return d;
    }

    /// <summary>
    /// Queue notifications reach csvmm through KVM ioeventfds (KVM_IOEVENTFD,
    /// Documentation/virt/kvm/api.rst) and never exit the vCPU. What does exit once the driver is
    /// up (runtimeMmioExits) is its interrupt handling: vm_interrupt() in
    /// drivers/virtio/virtio_mmio.c reads InterruptStatus and writes InterruptACK, two exits per
    /// interrupt, plus the odd config read (measured: 2 x interrupts + 1 on every busy disk, e.g.
    /// 37 exits for 18 interrupts). A device whose notifications trapped would add one exit per kick
    /// on top, and each device checked here was kicked several times more than the slack.
    /// </summary>
    private static void AssertNotificationsCostNoExits(JsonElement stats, int device)
    {
        const long slack = 4;
        long vcpuMmioExits = stats.GetProperty("vcpuExits").TryGetProperty("Mmio", out var m) ? m.GetInt64() : 0;
        var blk = stats.GetProperty("blockDevices")[device];
        string name = blk.GetProperty("name").GetString()!;
        long exits = blk.GetProperty("runtimeMmioExits").GetInt64();
        var queue = blk.GetProperty("queues")[0];
        long interrupts = queue.GetProperty("interrupts").GetInt64();
        long notifications = queue.GetProperty("notifications").GetInt64();
        string numbers = $"{name}: {exits} MMIO exits after DRIVER_OK, {interrupts} interrupts, {notifications} notifications, " +
                         $"{queue.GetProperty("requests").GetInt64()} requests, {vcpuMmioExits} MMIO exits of all devices";
        Assert.True(exits <= vcpuMmioExits, $"each register access is a vCPU exit: {numbers}");
        Assert.True(notifications > slack, $"too few notifications to tell a trapped kick from slack: {numbers}");
        Assert.True(exits <= 2 * interrupts + slack, $"more MMIO exits than interrupt handling explains (are notifications trapping?): {numbers}");
    }

    [KvmFact]
    public void BzImage_with_initramfs_boots_to_a_shell_that_answers_and_reboot_exits_0()
    {
        using var guest = new GuestSession(["run", "--transport", Images.Transport, "--kernel", Images.BzImage, "--initrd", Images.Initramfs,
            "--cmdline", Cmdline("shell"), "--log-level", "info", "--timeout", TimeoutFor(TimeSpan.FromMinutes(4))]);
        var ready = guest.WaitFor("CSVMM_READY", BootTest.Limit);
        _out.WriteLine($"bzImage + initramfs: CSVMM_READY after {ready.TotalSeconds:F1} s");
        guest.WaitFor("CSVMM_STEP shell", TimeSpan.FromMinutes(1));
        guest.SendUntil("echo answer=$((6*7))\n", "answer=42", TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(3));
        guest.Send("reboot -f\n");
        int code = guest.WaitForExit(TimeSpan.FromMinutes(1));
        Assert.True(code == 0, $"exit {code}\n{guest.Transcript}");
        Assert.Contains("Linux version 6.1", guest.Stdout);
        Assert.Contains("Guest boot-time marker after", guest.Stderr);
    }

    [KvmFact]
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
        string stats = Scratch("stats.json");

        using var guest = new GuestSession(["run", "--transport", Images.Transport, "--kernel", Images.Vmlinux,
            "--disk", root, "--disk", scratch, "--disk", $"{random},id=random-disk", "--disk", $"{ro},ro",
            "--cmdline", Cmdline($"info,blk-write:/dev/vdb:{mib},blk-read:/dev/vdc:{mib},blk-rofail:/dev/vdd,exit:3"),
            "--log-level", "debug", "--stats", stats, "--timeout", TimeoutFor(TimeSpan.FromMinutes(6))]);
        var ready = guest.WaitFor("CSVMM_READY", BootTest.Limit);
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

        // The 16 MiB written to vdb and read from vdc: hundreds of requests, no exit per notification.
        string json = File.ReadAllText(stats);
        _out.WriteLine(json);
        using var doc = JsonDocument.Parse(json);
        AssertNotificationsCostNoExits(doc.RootElement, device: 1);
        AssertNotificationsCostNoExits(doc.RootElement, device: 2);
    }

    [KvmFact]
    public void Guest_panic_exits_with_the_panic_code()
    {
        var r = CsvmmProcess.Run(["run", "--transport", Images.Transport, "--kernel", Images.Vmlinux, "--initrd", Images.Initramfs,
            "--cmdline", Cmdline("panic"), "--log-level", "warning", "--timeout", TimeoutFor(TimeSpan.FromMinutes(1))],
            BootTest.Limit + TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 80, $"exit {r.ExitCode}\n{r.Stdout[^Math.Min(3000, r.Stdout.Length)..]}\n{r.Stderr}");
        Assert.Contains("Kernel panic - not syncing", r.Stdout);
        Assert.Contains("panicked", r.Stderr);
    }

    /// <summary>
    /// A power cut after the guest synced 4 MiB and then wrote 2 MiB more without a sync, half of
    /// it over synced data. SIGKILL alone would prove nothing: the host's page cache outlives
    /// csvmm. The <see cref="PowerCut"/> shim keeps the image as a power cut would leave it (only
    /// what csvmm fdatasynced), so the synced data must be there and the unsynced writes must not,
    /// while the image file itself shows they did reach csvmm.
    /// </summary>
    [KvmFact]
    public void Data_the_guest_synced_survives_a_power_cut_and_unsynced_writes_do_not()
    {
        Skip.If(PowerCut.Unsupported is not null, PowerCut.Unsupported);
        const int mib = 1 << 20;
        string disk = Scratch("durable.raw");
        File.WriteAllBytes(disk, new byte[8 * mib]);
        var power = new PowerCut(_scratch, disk);
        using var guest = new GuestSession(["run", "--transport", Images.Transport, "--kernel", Images.Vmlinux, "--initrd", Images.Initramfs,
            "--disk", disk, "--log-level", "warning", "--timeout", TimeoutFor(TimeSpan.FromMinutes(3)),
            "--cmdline", Cmdline("blk-write:/dev/vda:4:42,sync,blk-write-nosync:/dev/vda:2:43:3,hang")], environment: power.Environment);
        guest.WaitFor("CSVMM_STEP hang", BootTest.Limit + TimeSpan.FromMinutes(2));
        guest.Signal("KILL");
        guest.WaitForExit(TimeSpan.FromSeconds(30));

        var synced = GuestPattern.Generate(4 * mib, seed: 42);
        var unsynced = GuestPattern.Generate(5 * mib, seed: 43).AsSpan(3 * mib).ToArray(); // words counted from the device start
        var sha = ShaByDevice(guest.Stdout);
        Assert.Equal(GuestPattern.Sha256(synced), sha["blk-write:/dev/vda"]);
        Assert.Equal(GuestPattern.Sha256(unsynced), sha["blk-write-nosync:/dev/vda"]);

        var counters = power.Counters();
        _out.WriteLine($"power-cut shim: {counters.Writes} writes, {counters.Syncs} syncs ({counters.FailedSyncs} failed), {counters.DurableBytes} bytes made durable");
        Assert.True(counters.Writes > 0,
            $"the shim saw none of csvmm's writes: is csvmm linked with <DirectPInvoke Include=\"libc\" />?");

        // The image (page cache): every write reached csvmm, the unsynced ones included.
        byte[] image = File.ReadAllBytes(disk);
        Assert.True(image.AsSpan(0, 3 * mib).SequenceEqual(synced.AsSpan(0, 3 * mib)), "the synced data is not on the image");
        Assert.True(image.AsSpan(3 * mib, 2 * mib).SequenceEqual(unsynced), "the unsynced writes did not reach csvmm, so the power cut tests nothing");

        // After the power cut: exactly what was synced.
        byte[] durable = File.ReadAllBytes(power.DurableImage);
        Assert.True(durable.AsSpan(0, 4 * mib).SequenceEqual(synced),
            $"data the guest synced (fdatasync, FLUSH) was lost in the power cut: csvmm did not make it durable " +
            $"(shim: {counters.Writes} writes, {counters.Syncs} successful syncs, {counters.DurableBytes} bytes made durable)");
        Assert.True(durable.AsSpan(4 * mib).IndexOfAnyExcept((byte)0) < 0, "unsynced data survived the power cut: the shim kept more than was synced");
    }
}
