using System.Text.RegularExpressions;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// virtio-net over a TAP. Every test makes its own network namespace: the TAP and all addresses
/// live there, and nothing leaves it.
/// </summary>
[Collection(BootTest.Collection)]
public sealed partial class NetworkTests : IDisposable
{
    private const string NeedsNamespaces = "network tests need root, /dev/net/tun and iproute2 to make their own network namespace";
    private readonly ITestOutputHelper _out;
    private readonly ScratchDir _scratch = new("net");

    public NetworkTests(ITestOutputHelper output) => _out = output;

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("tap=", "invalid TAP name")]
    [InlineData("tap=this-name-is-far-too-long", "invalid TAP name")]
    [InlineData("tap=bad/name", "invalid TAP name")]
    [InlineData("mac=02:00:00:00:00:01", "tap=NAME is required")]
    [InlineData("tap=t0,mac=nonsense", "not a MAC address")]
    public void Bad_net_specs_are_usage_errors(string spec, string fragment) =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--net", spec], TimeSpan.FromSeconds(60)), 64, fragment);

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void A_tap_held_by_another_csvmm_is_busy()
    {
        Skip.IfNot(NetNamespace.Available, NeedsNamespaces);
        using var ns = new NetNamespace("csvmm-busy");
        string k = _scratch.Write("spin.elf", TinyKernel.Spin());
        using var first = new GuestSession(["run", "--kernel", k, "--net", "tap=csvmm0", "--timeout", "60", "--log-level", "off"], ns.Name);
        ns.ConfigureWhenPresent("csvmm0", "10.77.1.1/24", TimeSpan.FromSeconds(30));
        var second = CsvmmProcess.Run(["run", "--kernel", k, "--net", "tap=csvmm0", "--log-level", "off"], TimeSpan.FromSeconds(60), netns: ns.Name);
        CliAssert.OneLine(second, 75, "csvmm0");
    }

    /// <summary>
    /// nobody may not open /dev/net/tun or create a TAP (CAP_NET_ADMIN): exit 77 naming the device.
    /// Inside the test's own namespace, so a csvmm that wrongly succeeded would make its TAP there.
    /// </summary>
    [KvmFact]
    public void Creating_a_tap_without_permission_exits_77()
    {
        Skip.IfNot(NetNamespace.Available, NeedsNamespaces);
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "needs setpriv (util-linux) to run csvmm as nobody");
        var version = CsvmmProcess.RunAsNobody(["--version"], TimeSpan.FromSeconds(60));
        Skip.If(version.ExitCode != 0, $"nobody cannot run csvmm here (exit {version.ExitCode}): {version.Stderr.Trim()}");
        using var ns = new NetNamespace("csvmm-perm");
        string k = _scratch.Write("spin.elf", TinyKernel.Spin());
        // --timeout: should csvmm get its TAP after all, the spinning guest must not hang the test.
        var r = CsvmmProcess.RunAsNobody(["run", "--kernel", k, "--net", "tap=csvmm9", "--timeout", "5"], TimeSpan.FromSeconds(60), ns.Name);
        CliAssert.OneLine(r, 77, "/dev/net/tun");
    }

    [GeneratedRegex(@"CSVMM_RESULT ping host=\S+ sent=(\d+) received=(\d+) rtt_avg_ms=([\d.]+)")]
    private static partial Regex PingLine();

    [GeneratedRegex(@"CSVMM_RESULT (tcp-recv|tcp-send)\S* .*bytes=(\d+) sha256=([0-9a-f]{64}) ms=(\d+)")]
    private static partial Regex TcpLine();

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void Guest_pings_the_tap_and_moves_data_both_ways_over_tcp()
    {
        Skip.IfNot(NetNamespace.Available, NeedsNamespaces);
        const int mib = 4; // the guest's TCP stack is emulated kernel code here: ~0.1 MB/s
        var images = GuestImages.Instance;
        using var ns = new NetNamespace("csvmm-net");
        string toGuest = _scratch.Write("to-guest", GuestPattern.Generate(mib << 20, seed: 5));
        string fromGuest = _scratch.File("from-guest");

        using var guest = new GuestSession(["run", "--transport", images.Transport, "--kernel", images.Vmlinux, "--initrd", images.Initramfs,
            "--net", "tap=csvmm0", "--log-level", "debug",
            "--cmdline", $"{images.GuestCmdline} csvmm.test=net-up:10.77.0.2/24,ping:10.77.0.1:5,tcp-recv:5001:{mib},tcp-send:10.77.0.1:5002:{mib}:9,exit:0"],
            ns.Name);
        ns.ConfigureWhenPresent("csvmm0", "10.77.0.1/24", TimeSpan.FromSeconds(60));
        using var listener = ns.Start("sh", "-c", $"nc -l 10.77.0.1 5002 > {fromGuest}");
        try
        {
            // csvmm-guest tcp-recv prints CSVMM_LISTENING once its socket listens.
            guest.WaitFor("CSVMM_LISTENING port=5001", BootTest.Limit);
            var send = ns.Exec("sh", "-c", $"nc -N 10.77.0.2 5001 < {toGuest}");
            Assert.True(send.Code == 0, $"could not send to the guest's tcp-recv: {send.Output}\n{guest.Transcript}");
            Assert.Equal(0, guest.WaitForExit(TimeSpan.FromMinutes(6)));
            Assert.True(listener.WaitForExit(30_000), "the host's nc did not see the guest close the connection");
        }
        finally
        {
            if (!listener.HasExited) listener.Kill(entireProcessTree: true);
        }

        string stdout = guest.Stdout;
        _out.WriteLine(string.Join('\n', stdout.Split('\n').Where(l => l.StartsWith("CSVMM_"))));
        var ping = PingLine().Match(stdout);
        Assert.True(ping.Success, guest.Transcript);
        Assert.Equal("5", ping.Groups[2].Value);
        var tcp = TcpLine().Matches(stdout).ToDictionary(m => m.Groups[1].Value);
        Assert.Equal(GuestPattern.Sha256(File.ReadAllBytes(toGuest)), tcp["tcp-recv"].Groups[3].Value);
        Assert.Equal(mib << 20, long.Parse(tcp["tcp-recv"].Groups[2].Value));
        Assert.Equal(GuestPattern.Sha256(GuestPattern.Generate(mib << 20, seed: 9)), tcp["tcp-send"].Groups[3].Value);
        Assert.Equal(tcp["tcp-send"].Groups[3].Value, GuestPattern.FileSha256(fromGuest, mib << 20));
        _out.WriteLine($"ping rtt avg {ping.Groups[3].Value} ms; host->guest {mib} MiB in {tcp["tcp-recv"].Groups[4].Value} ms; " +
                       $"guest->host {mib} MiB in {tcp["tcp-send"].Groups[4].Value} ms");
    }
}
