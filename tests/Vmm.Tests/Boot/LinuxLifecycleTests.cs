using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// Lifecycle with a real Linux guest: SIGTERM while the guest writes to an ext4 file system, and
/// the <c>--stats</c> counters of that run against what the guest did.
/// </summary>
public sealed partial class LinuxBootTests
{
    [GeneratedRegex(@"CSVMM_RESULT blk-write dev=/mnt/(\S+) bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex FileWritten();

    [KvmFact]
    public void Sigterm_while_the_guest_writes_leaves_a_clean_ext4_with_all_synced_data_and_stats_that_match()
    {
        string disk = Scratch("sigterm.ext4");
        Tool("mkfs.ext4", $"-q -F -L csvmm-data {disk} 48M");
        string stats = Scratch("sigterm-stats.json");

        using var guest = new GuestSession(["run", "--transport", Images.Transport, "--kernel", Images.Vmlinux, "--initrd", Images.Initramfs,
            "--disk", disk, "--stats", stats, "--log-level", "info", "--timeout", TimeoutFor(TimeSpan.FromMinutes(5)),
            "--cmdline", Cmdline("mount:vda:/mnt,blk-write:/mnt/synced.bin:4:42,sync,write-loop:/mnt:1")]);
        guest.WaitFor("CSVMM_STEP write-loop", BootTest.Limit);
        // Two loop files are on disk and a third is being written: SIGTERM lands mid-write.
        guest.WaitFor("dev=/mnt/busy-2.bin", TimeSpan.FromMinutes(4));
        guest.Signal("TERM");
        int code = guest.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.True(code == 143, $"SIGTERM should exit 143, got {code}\n{guest.Transcript}");
        Assert.Contains("stopped by SIGTERM", guest.Stderr);

        // Every file whose fdatasync returned in the guest (it printed its hash after that) must be
        // on the image, byte for byte. The guest's view first:
        var written = FileWritten().Matches(guest.Stdout).ToDictionary(m => m.Groups[1].Value, m => m.Groups[3].Value);
        Assert.Equal(GuestPattern.Sha256(GuestPattern.Generate(4 << 20, seed: 42)), written["synced.bin"]);
        Assert.True(written.Count >= 3, $"synced.bin and busy-1..2 should have been written: {string.Join(',', written.Keys)}");

        // The image as a rebooted guest would find it: the journal replayed (what mount does),
        // then a forced read-only check that must find nothing to fix.
        var fsckRaw = Tool("e2fsck", $"-fn {disk}", allowFailure: true);
        _out.WriteLine($"e2fsck -fn before journal replay: exit {fsckRaw.Code}\n{fsckRaw.Output}");
        var replay = Tool("e2fsck", $"-E journal_only -p {disk}", allowFailure: true);
        Assert.True(replay.Code is 0 or 1, $"journal replay failed ({replay.Code}): {replay.Output}");
        var fsck = Tool("e2fsck", $"-fn {disk}", allowFailure: true);
        _out.WriteLine($"e2fsck -fn after journal replay: exit {fsck.Code}\n{fsck.Output}");
        Assert.True(fsck.Code == 0, $"e2fsck -fn should find the file system clean, exit {fsck.Code}:\n{fsck.Output}");

        foreach (var (name, sha) in written)
        {
            string copy = Scratch("sigterm-" + name);
            Tool("debugfs", $"-R \"dump /{name} {copy}\" {disk}");
            int seed = name == "synced.bin" ? 42 : int.Parse(name["busy-".Length..^".bin".Length]);
            int size = name == "synced.bin" ? 4 << 20 : 1 << 20;
            Assert.Equal(GuestPattern.Sha256(GuestPattern.Generate(size, seed: (ulong)seed)), sha);
            Assert.True(sha == GuestPattern.FileSha256(copy, size), $"{name} on the image differs from what the guest synced");
            File.Delete(copy);
        }

        // --stats was written at the SIGTERM exit and counts what the guest did.
        using var json = JsonDocument.Parse(File.ReadAllText(stats));
        var root = json.RootElement;
        _out.WriteLine(File.ReadAllText(stats));
        Assert.Equal("Terminated", root.GetProperty("stopReason").GetString());
        Assert.Equal(143, root.GetProperty("exitCode").GetInt32());
        Assert.True(root.GetProperty("bootTime").GetProperty("guestBootMarkerMs").GetDouble() > 0);
        var vda = root.GetProperty("blockDevices")[0];
        long mibSynced = 4 + written.Count - 1;
        Assert.True(vda.GetProperty("bytesWritten").GetInt64() >= mibSynced << 20,
            $"bytesWritten {vda.GetProperty("bytesWritten")} < the {mibSynced} MiB the guest synced");
        // 1 MiB O_DIRECT writes: at least one request each (Linux may split them, never merge two).
        Assert.True(vda.GetProperty("writeRequests").GetInt64() >= mibSynced);
        Assert.True(vda.GetProperty("flushRequests").GetInt64() >= 1, "fdatasync and sync must reach the device as FLUSH");
        Assert.True(vda.GetProperty("readRequests").GetInt64() >= 1, "mount reads the superblock");
        Assert.Equal(0, vda.GetProperty("ioErrors").GetInt64());
        var queue = vda.GetProperty("queues")[0];
        Assert.True(queue.GetProperty("requests").GetInt64() >= vda.GetProperty("writeRequests").GetInt64() + vda.GetProperty("readRequests").GetInt64());
        Assert.Equal(0, queue.GetProperty("badChains").GetInt64());
        Assert.True(root.GetProperty("vcpuExits").GetProperty("total").GetInt64() > 0);
        AssertNotificationsCostNoExits(root, device: 0);
    }

    /// <summary>
    /// SMP: the guest finds both CPUs in the MP table, starts the application processor through the
    /// in-kernel LAPIC (INIT/SIPI), both CPUs agree on one package, user space sees 2 online CPUs,
    /// and its exit:3 becomes csvmm's exit code. A guest that never gets to user space fails the
    /// test; ./build.sh test runs boot tests one at a time so that no other guest starves this one.
    /// </summary>
    [KvmFact]
    public void Two_vcpus_start_through_the_lapic_share_one_package_and_reach_user_space()
    {
        using var guest = new GuestSession(["run", "--transport", Images.Transport, "--kernel", Images.Vmlinux, "--initrd", Images.Initramfs,
            "--cpus", "2", "--log-level", "debug", "--cmdline", Cmdline("info,exit:3"), "--timeout", TimeoutFor(TimeSpan.FromMinutes(1))]);
        try
        {
            guest.WaitFor("CSVMM_STEP exit:3", BootTest.Limit);
        }
        catch (TimeoutException)
        {
            // An orderly stop makes csvmm (--log-level debug) print where each vCPU was: a stall in
            // the guest's timer code reads differently from an AP that never started.
            guest.Signal("TERM");
            try { guest.WaitForExit(TimeSpan.FromSeconds(30)); } catch (TimeoutException) { }
            Assert.Fail($"the 2-vCPU guest did not reach user space within {BootTest.Limit.TotalMinutes} minutes\n{guest.Transcript}");
        }
        int status = guest.WaitForExit(TimeSpan.FromSeconds(60));
        string console = guest.Stdout;
        Assert.True(status == 3, $"the guest's exit:3 should be csvmm's exit code, got {status}\n{guest.Transcript}");
        Assert.Contains("smpboot: Total of 2 processors activated", console);
        Assert.Contains("smp: Brought up 1 node, 2 CPUs", console);
        Assert.Contains("smpboot: Max logical packages: 1", console);
        Assert.DoesNotContain("Converting physical", console); // the AP agrees on the package and die
        Assert.DoesNotContain("failed to send PV IPI", console);
        Assert.Contains("CSVMM_INFO nproc=2", console);
        Assert.Contains("CSVMM_INFO cpus_online=0-1", console);
        if (Directory.Exists("/sys/module/kvm_pvm"))
            Assert.Contains("PV IPIs, PV spinlock kicks and PV yield hidden", guest.Stderr);
    }

    private static (int Code, string Output) Tool(string file, string args, bool allowFailure = false)
    {
        var psi = new ProcessStartInfo("sh", ["-c", $"{file} {args} 2>&1"]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (!allowFailure && p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} exited {p.ExitCode}: {output}");
        return (p.ExitCode, output);
    }
}
