using System.Diagnostics;
using System.Text.RegularExpressions;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// virtio-net over a TAP. Every test makes its own network namespace: the TAP and all addresses
/// live there, and nothing leaves it.
/// </summary>
[Collection("linux-guests")]
public sealed partial class NetworkTests
{
    private readonly ITestOutputHelper _out;

    public NetworkTests(ITestOutputHelper output) => _out = output;


    [Theory]
    [InlineData("tap=", "invalid TAP name")]
    [InlineData("tap=this-name-is-far-too-long", "invalid TAP name")]
    [InlineData("tap=bad/name", "invalid TAP name")]
    [InlineData("mac=02:00:00:00:00:01", "tap=NAME is required")]
    [InlineData("tap=t0,mac=nonsense", "not a MAC address")]
    public void Bad_net_specs_are_usage_errors(string spec, string fragment) =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--net", spec], TimeSpan.FromSeconds(60)), 64, fragment);

    [KvmFact]
    public void A_tap_held_by_another_csvmm_is_busy()
    {
        if (!NetNamespace.Available) return;
        using var ns = new NetNamespace("csvmm-busy");
        string k = TinyKernel.WriteTemp(TinyKernel.Spin(), "spin-net");
        using var first = new GuestSession(["run", "--kernel", k, "--net", "tap=csvmm0", "--timeout", "60", "--log-level", "off"], ns.Name);
        ns.ConfigureWhenPresent("csvmm0", "10.77.1.1/24", TimeSpan.FromSeconds(30));
        var second = CsvmmProcess.Run(["run", "--kernel", k, "--net", "tap=csvmm0", "--log-level", "off"], TimeSpan.FromSeconds(60), netns: ns.Name);
        CliAssert.OneLine(second, 75, "csvmm0");
    }

    [KvmFact]
    public void Creating_a_tap_without_permission_exits_77()
    {
        if (!NetNamespace.Available || !File.Exists("/usr/bin/setpriv")) return;
        string k = TinyKernel.WriteTemp(TinyKernel.Spin(), "spin-perm");
        File.SetUnixFileMode(k, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var psi = new ProcessStartInfo("setpriv") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups" }.Concat(CsvmmProcess.Command)
                     .Concat(["run", "--kernel", k, "--net", "tap=csvmm9"]))
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (err.Contains("csvmm.dll") || err.Contains("dotnet")) return; // build output not readable by 'nobody' here
        CliAssert.OneLine(new CsvmmResult(p.ExitCode, "", err, TimeSpan.Zero, false), 77, "/dev/net/tun");
    }

    [GeneratedRegex(@"CSVMM_RESULT ping host=\S+ sent=(\d+) received=(\d+) rtt_avg_ms=([\d.]+)")]
    private static partial Regex PingLine();

    [GeneratedRegex(@"CSVMM_RESULT (tcp-recv|tcp-send)\S* .*bytes=(\d+) sha256=([0-9a-f]{64}) ms=(\d+)")]
    private static partial Regex TcpLine();

    [GuestFact]
    public void Guest_pings_the_tap_and_moves_data_both_ways_over_tcp()
    {
        Assert.True(NetNamespace.Available, "network tests need root, /dev/net/tun and iproute2");
        const int mib = 4; // the guest's TCP stack is emulated kernel code here: ~0.1 MB/s
        using var ns = new NetNamespace("csvmm-net");
        var images = GuestImages.Instance;
        string toGuest = Path.Combine(Path.GetTempPath(), $"csvmm-net-in-{Environment.ProcessId}");
        File.WriteAllBytes(toGuest, GuestPattern.Generate(mib << 20, seed: 5));
        string fromGuest = Path.Combine(Path.GetTempPath(), $"csvmm-net-out-{Environment.ProcessId}");

        using var guest = new GuestSession(["run", "--kernel", images.Vmlinux, "--initrd", images.Initramfs,
            "--net", "tap=csvmm0", "--log-level", "debug",
            "--cmdline", $"{images.GuestCmdline} csvmm.test=net-up:10.77.0.2/24,ping:10.77.0.1:5,tcp-recv:5001:{mib},tcp-send:10.77.0.1:5002:{mib}:9,exit:0"],
            ns.Name);
        ns.ConfigureWhenPresent("csvmm0", "10.77.0.1/24", TimeSpan.FromSeconds(60));
        using var listener = ns.Start("sh", "-c", $"nc -l 10.77.0.1 5002 > {fromGuest}");

        guest.WaitFor("CSVMM_STEP tcp-recv", TimeSpan.FromMinutes(8));
        // The guest listens right after printing the step; retry until it accepts.
        int code = -1;
        for (int attempt = 0; attempt < 60 && code != 0; attempt++)
        {
            Thread.Sleep(1000);
            code = ns.Exec("sh", "-c", $"nc -N 10.77.0.2 5001 < {toGuest}").Code;
        }
        Assert.True(code == 0, "could not connect to the guest's tcp-recv");
        Assert.Equal(0, guest.WaitForExit(TimeSpan.FromMinutes(6)));
        listener.WaitForExit(30_000);

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
