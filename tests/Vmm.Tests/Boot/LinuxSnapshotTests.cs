using System.Text.RegularExpressions;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// The CI use of snapshots with a real Linux guest: boot once, set up (a file on the root disk
/// with a token only this boot knows, the network), snapshot when the guest asks; then restore
/// twice, each in its own process on its own copies of the disks (what the README tells users to
/// do), and let each restored guest carry on: read the file back from disk, write and read a disk,
/// ping and send over TCP, and report a verdict that becomes csvmm's exit code.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed partial class LinuxSnapshotTests : IDisposable
{
    private const int MemoryMiB = 256;
    private const int BlkMiB = 2;
    private const int TcpKiB = 256; // the guest's TCP stack is emulated kernel code here: keep it small
    /// <summary>The boot, then the set-up steps before the snapshot (seconds).</summary>
    private static readonly TimeSpan BootLimit = BootTest.Limit + TimeSpan.FromMinutes(2);
    private readonly ITestOutputHelper _out;
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-snaplinux-").FullName;

    public LinuxSnapshotTests(ITestOutputHelper output) => _out = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static GuestImages Images => GuestImages.Instance;

    [GeneratedRegex(@"CSVMM_RESULT snap-file path=\S+ token=(\d+)")]
    private static partial Regex TokenLine();

    [GeneratedRegex(@"CSVMM_RESULT snap-check path=\S+ token=(\S*) expected=(\S+)")]
    private static partial Regex CheckLine();

    [GeneratedRegex(@"CSVMM_RESULT blk-write dev=/dev/vdb bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex BlkWriteLine();

    [GeneratedRegex(@"CSVMM_RESULT sha256 dev=/dev/vdb bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex BlkReadLine();

    [GeneratedRegex(@"CSVMM_RESULT ping host=\S+ sent=(\d+) received=(\d+)")]
    private static partial Regex PingLine();

    [GeneratedRegex(@"CSVMM_RESULT tcp-send \S+ .*bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex TcpLine();

    [GeneratedRegex(@"soft lockup|rcu.{0,40}stall|hung_task|clocksource.{0,40}unstable", RegexOptions.IgnoreCase)]
    private static partial Regex ClockTrouble();

    [KvmFact]
    public void A_guest_snapshotted_after_its_setup_restores_twice_and_carries_on_with_disk_and_network()
    {
        Skip.IfNot(NetNamespace.Available, "this test needs root, /dev/net/tun and iproute2 to make its own network namespace");
        using var ns = new NetNamespace("csvmm-snap");
        string root = Path.Combine(_dir, "root.ext4"), scratch = Path.Combine(_dir, "scratch.raw");
        File.Copy(Images.Rootfs, root);
        File.WriteAllBytes(scratch, new byte[8 << 20]);
        string snap = Path.Combine(_dir, "snap");

        // Before the snapshot: the set-up. After it (in each restored guest): the checks.
        string steps = "snap-file:/root/snapfile,net-up:10.77.0.2/24,snapshot," +
            $"snap-check:/root/snapfile,blk-write:vdb:{BlkMiB}:11,blk-read:vdb:{BlkMiB},ping:10.77.0.1:3," +
            $"tcp-send:10.77.0.1:5002:{TcpKiB}k:9,verdict:42:43";
        string token;
        using (var boot = new GuestSession(["run", "--kernel", Images.Vmlinux, "--transport", "mmio", "--memory", $"{MemoryMiB}",
            "--disk", root, "--disk", scratch, "--net", "tap=csvmm0", "--snapshot-to", snap, "--log-level", "info",
            "--cmdline", $"{Images.GuestCmdline} csvmm.test={steps}"], ns.Name))
        {
            ns.ConfigureWhenPresent("csvmm0", "10.77.0.1/24", TimeSpan.FromSeconds(60));
            int code = boot.WaitForExit(BootLimit);
            Assert.True(code == 0, $"the snapshot run should exit 0 once saved, got {code}\n{boot.Transcript}");
            Assert.Contains("snapshot saved to", boot.Stderr);
            Assert.DoesNotContain("CSVMM_RESULT snapshot resumed", boot.Stdout); // it stopped at the request
            var t = TokenLine().Match(boot.Stdout);
            Assert.True(t.Success, boot.Transcript);
            token = t.Groups[1].Value;
            _out.WriteLine($"boot to snapshot: {boot.Elapsed.TotalSeconds:F1} s, token {token}");
        }
        Assert.Equal((long)MemoryMiB << 20, new FileInfo(Path.Combine(snap, "vm.mem")).Length);

        string expectedBlk = GuestPattern.Sha256(GuestPattern.Generate(BlkMiB << 20, seed: 11));
        string expectedTcp = GuestPattern.Sha256(GuestPattern.Generate(TcpKiB << 10, seed: 9));
        foreach (string name in new[] { "first", "second" })
        {
            // Each restore gets the disks as they were at the snapshot, as the README says to do.
            string myRoot = Path.Combine(_dir, $"root-{name}.ext4"), myScratch = Path.Combine(_dir, $"scratch-{name}.raw");
            File.Copy(root, myRoot);
            File.Copy(scratch, myScratch);
            string received = Path.Combine(_dir, $"tcp-{name}.bin");
            using var guest = new GuestSession(["restore", "--from", snap, "--disk", myRoot, "--disk", myScratch,
                "--net", "tap=csvmm0", "--log-level", "info"], ns.Name);
            ns.ConfigureWhenPresent("csvmm0", "10.77.0.1/24", TimeSpan.FromSeconds(60));
            using var listener = ns.Start("sh", "-c", $"nc -l 10.77.0.1 5002 > {received}");
            int code = guest.WaitForExit(TimeSpan.FromMinutes(8));
            listener.WaitForExit(30_000);
            string stdout = guest.Stdout;
            _out.WriteLine($"{name} restore ran its steps in {guest.Elapsed.TotalSeconds:F1} s:\n" +
                string.Join('\n', stdout.Split('\n').Where(l => l.StartsWith("CSVMM_"))));

            Assert.True(code == 42, $"the guest's verdict should be csvmm's exit code 42, got {code}\n{guest.Transcript}");
            Assert.DoesNotContain("CSVMM_READY", stdout); // it did not boot again
            Assert.Contains("CSVMM_RESULT snapshot resumed", stdout);
            var check = CheckLine().Match(stdout);
            Assert.True(check.Success, guest.Transcript);
            Assert.Equal(token, check.Groups[1].Value);
            Assert.Equal(token, check.Groups[2].Value);
            Assert.Equal(expectedBlk, BlkWriteLine().Match(stdout).Groups[2].Value);
            Assert.Equal(expectedBlk, BlkReadLine().Match(stdout).Groups[2].Value);
            Assert.Equal(expectedBlk, GuestPattern.FileSha256(myScratch, BlkMiB << 20));
            var ping = PingLine().Match(stdout);
            Assert.True(ping.Success && int.Parse(ping.Groups[2].Value) > 0, guest.Transcript);
            Assert.Equal(expectedTcp, TcpLine().Match(stdout).Groups[2].Value);
            Assert.Equal(expectedTcp, GuestPattern.FileSha256(received, TcpKiB << 10));
            Assert.False(ClockTrouble().IsMatch(stdout), $"the restored guest's clock misbehaved:\n{guest.Transcript}");
        }
    }
}
