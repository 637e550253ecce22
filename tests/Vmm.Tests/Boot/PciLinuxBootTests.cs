using System.Text.Json;
using System.Text.RegularExpressions;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// The kernel a CI user builds (images/kernel-pci.config: virtio-pci, MSI-X, no virtio-mmio) under
/// csvmm's default transport: root on virtio-blk-pci, ping and TCP over virtio-net-pci, the PCI
/// functions as the guest sees them, and its exit:N as csvmm's exit code. One boot.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed partial class PciLinuxBootTests : IDisposable
{
    private const int TcpKiB = 256; // the guest's TCP stack is emulated kernel code here: keep it small
    private readonly ITestOutputHelper _out;
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-pcilinux-").FullName;

    public PciLinuxBootTests(ITestOutputHelper output) => _out = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"CSVMM_RESULT ping host=\S+ sent=(\d+) received=(\d+)")]
    private static partial Regex PingLine();

    [GeneratedRegex(@"CSVMM_RESULT tcp-send \S+ .*bytes=(\d+) sha256=([0-9a-f]{64})")]
    private static partial Regex TcpLine();

    [KvmFact]
    public void Stock_config_kernel_boots_on_virtio_pci_with_msix_root_and_a_disk_on_blk_and_network_on_net()
    {
        Skip.IfNot(NetNamespace.Available, "this test needs root, /dev/net/tun and iproute2 to make its own network namespace");
        var images = GuestImages.Instance;
        Skip.IfNot(File.Exists(images.PciBzImage), $"the PCI kernel is missing ({images.PciBzImage}): images/build.sh builds it");
        using var ns = new NetNamespace("csvmm-pci");
        string root = Path.Combine(_dir, "root.ext4"), stats = Path.Combine(_dir, "stats.json"), received = Path.Combine(_dir, "tcp.bin");
        File.Copy(images.Rootfs, root);
        string scratch = Path.Combine(_dir, "scratch.raw");
        File.WriteAllBytes(scratch, new byte[4 << 20]);

        using var guest = new GuestSession(["run", "--kernel", images.PciBzImage, "--disk", root, "--disk", scratch, "--net", "tap=csvmm0",
            "--stats", stats, "--log-level", "info",
            "--cmdline", $"{images.GuestCmdline} csvmm.test=info,pci,blk-write:vdb:2:3,blk-read:vdb:2,net-up:10.77.0.2/24,ping:10.77.0.1:3,tcp-send:10.77.0.1:5002:{TcpKiB}k:9,exit:7"],
            ns.Name);
        ns.ConfigureWhenPresent("csvmm0", "10.77.0.1/24", TimeSpan.FromSeconds(60));
        using var listener = ns.Start("sh", "-c", $"nc -l 10.77.0.1 5002 > {received}");
        int code = guest.WaitForExit(BootTest.Limit + TimeSpan.FromMinutes(4)); // the boot, then seconds of disk and network steps
        listener.WaitForExit(30_000);
        string stdout = guest.Stdout;
        _out.WriteLine(string.Join('\n', stdout.Split('\n').Where(l => l.StartsWith("CSVMM_"))));

        Assert.True(code == 7, $"the guest's exit:7 should be csvmm's exit code, got {code}\n{guest.Transcript}");
        Assert.Contains("CSVMM_INFO root=/dev/vda", stdout);
        Assert.Contains("CSVMM_INFO rootfstype=ext4", stdout);
        Assert.DoesNotContain("virtio_mmio.device", stdout); // nothing declared the old way
        // lspci's facts, read by the guest from sysfs and config space: csvmm's host bridge, then
        // a block and a net function driven by virtio-pci with MSI-X enabled.
        Assert.Matches(new Regex(@"^CSVMM_PCI 0000:00:00\.0 vendor=0x\w+ device=0x\w+ class=0x0600\w\w ", RegexOptions.Multiline), stdout);
        Assert.Matches(new Regex(@"^CSVMM_PCI \S+ vendor=0x1af4 device=0x1042 class=0x01\w{4} msix=1 msix_table=\d+ irqs=[1-9]\d* driver=virtio-pci\s*$", RegexOptions.Multiline), stdout);
        Assert.Matches(new Regex(@"^CSVMM_PCI \S+ vendor=0x1af4 device=0x1041 class=0x02\w{4} msix=1 msix_table=\d+ irqs=[1-9]\d* driver=virtio-pci\s*$", RegexOptions.Multiline), stdout);
        string expectedBlk = GuestPattern.Sha256(GuestPattern.Generate(2 << 20, seed: 3));
        Assert.Matches($@"CSVMM_RESULT blk-write dev=/dev/vdb bytes=2097152 sha256={expectedBlk}", stdout);
        Assert.Matches($@"CSVMM_RESULT sha256 dev=/dev/vdb bytes=2097152 sha256={expectedBlk}", stdout);
        Assert.Equal(expectedBlk, GuestPattern.FileSha256(scratch, 2 << 20));
        var ping = PingLine().Match(stdout);
        Assert.True(ping.Success && int.Parse(ping.Groups[2].Value) > 0, guest.Transcript);
        string expectedTcp = GuestPattern.Sha256(GuestPattern.Generate(TcpKiB << 10, seed: 9));
        Assert.Equal(expectedTcp, TcpLine().Match(stdout).Groups[2].Value);
        Assert.Equal(expectedTcp, GuestPattern.FileSha256(received, TcpKiB << 10));

        // With MSI-X through irqfds a completion costs no register access: the block device's
        // runtime register accesses are the driver's one-time vector set-up, not one per request.
        using var doc = JsonDocument.Parse(File.ReadAllText(stats));
        long requests = 0, exits = 0;
        foreach (var blk in doc.RootElement.GetProperty("blockDevices").EnumerateArray())
        {
            requests += blk.GetProperty("readRequests").GetInt64() + blk.GetProperty("writeRequests").GetInt64() + blk.GetProperty("flushRequests").GetInt64();
            exits += blk.GetProperty("runtimeMmioExits").GetInt64();
        }
        _out.WriteLine($"virtio-blk-pci: {requests} requests, {exits} runtime register accesses ({1000.0 * exits / Math.Max(1, requests):F1} per 1000)");
        Assert.True(requests > 50, $"too few block requests to judge: {requests}");
        Assert.True(exits * 1000 < 50 * requests, $"{exits} register accesses for {requests} requests: over 50 per 1000");
    }
}
