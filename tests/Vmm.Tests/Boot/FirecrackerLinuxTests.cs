using System.Text;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Api;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// A Linux guest driven only through csvmm's Firecracker API socket, by real HTTP clients: curl
/// configures and starts it in firecracker-go-sdk's order (logger, metrics, machine-config,
/// boot-source, drives, network-interfaces, InstanceStart), .NET's HttpClient pauses, resumes and
/// stops it with SendCtrlAltDel, which reaches the guest's init as SIGINT; init reboots and csvmm
/// exits 0. The PCI kernel (with --enable-pci) is the one with an i8042 keyboard driver and a
/// virtual terminal to receive the keys. One boot.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class FirecrackerLinuxTests : IDisposable
{
    private readonly ITestOutputHelper _out;
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-fclinux-").FullName;

    public FirecrackerLinuxTests(ITestOutputHelper output) => _out = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [KvmFact]
    public void Go_sdk_sequence_over_the_socket_boots_linux_then_pause_resume_and_ctrl_alt_del_stop_it()
    {
        Skip.IfNot(NetNamespace.Available, "this test needs root, /dev/net/tun and iproute2 to make its own network namespace");
        Skip.IfNot(UnixHttp.CurlInstalled(), "this test needs curl (./build.sh installs it)");
        var images = GuestImages.Instance;
        Skip.IfNot(File.Exists(images.PciBzImage), $"the PCI kernel is missing ({images.PciBzImage}): images/build.sh builds it");
        using var ns = new NetNamespace("csvmm-fc");
        string socket = Path.Combine(_dir, "fc.sock"), log = Path.Combine(_dir, "fc.log"), metrics = Path.Combine(_dir, "fc.metrics");
        string root = Path.Combine(_dir, "root.ext4");
        File.Copy(images.Rootfs, root);
        // boot_args replaces csvmm's base command line, as it replaces Firecracker's.
        string bootArgs = "console=ttyS0 reboot=k panic=1 nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd " +
            $"{images.GuestCmdline} csvmm.test=info,net-up:10.77.0.2/24,ping:10.77.0.1:2,cad-wait";

        using var vm = new GuestSession(["firecracker", "--api-sock", socket, "--id", "fc-linux", "--enable-pci"], ns.Name);
        Assert.True(SpinWait.SpinUntil(() => File.Exists(socket), 30_000), $"no API socket\n{vm.Transcript}");
        (int Status, string Body) Curl(string method, string path, string? json = null)
        {
            (int, string)? r = null;
            // The socket file exists from bind(2), a moment before listen(2): retry a refused connect.
            for (int i = 0; i < 50 && (r = UnixHttp.Curl(socket, method, path, json)) is null or (0, _); i++) Thread.Sleep(50);
            return r ?? throw new InvalidOperationException("curl did not run");
        }
        void Expect204(string method, string path, string json)
        {
            var (status, body) = Curl(method, path, json);
            Assert.True(status == 204, $"{method} {path}: {status} {body}\n{vm.Transcript}");
        }

        Expect204("PUT", "/logger", $$"""{"log_path":"{{log}}","level":"Info","show_level":true,"show_log_origin":false}""");
        Expect204("PUT", "/metrics", $$"""{"metrics_path":"{{metrics}}"}""");
        Expect204("PUT", "/machine-config", """{"vcpu_count":1,"mem_size_mib":256,"smt":false}""");
        Expect204("PUT", "/boot-source", $$"""{"kernel_image_path":"{{images.PciBzImage}}","boot_args":"{{bootArgs}}"}""");
        Expect204("PUT", "/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{root}}","is_root_device":true,"is_read_only":false}""");
        Expect204("PUT", "/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"csvmm0","guest_mac":"06:00:0a:4d:00:02"}""");
        Expect204("PUT", "/actions", """{"action_type":"InstanceStart"}""");
        ns.ConfigureWhenPresent("csvmm0", "10.77.0.1/24", TimeSpan.FromSeconds(60));
        Assert.Contains("\"state\":\"Running\"", Curl("GET", "/").Body);

        vm.WaitFor("CSVMM_RESULT cad-wait armed", BootTest.Limit + TimeSpan.FromMinutes(2));
        string stdout = vm.Stdout;
        _out.WriteLine(string.Join('\n', stdout.Split('\n').Where(l => l.StartsWith("CSVMM_"))));
        Assert.Contains("CSVMM_INFO root=/dev/vda", stdout);
        Assert.Contains("CSVMM_RESULT ping host=10.77.0.1 sent=2 received=2", stdout);

        using var http = UnixHttp.Client(socket);
        Assert.Equal(204, (int)http.PatchAsync("vm", Json("""{"state":"Paused"}""")).Result.StatusCode);
        Assert.Contains("\"state\":\"Paused\"", http.GetStringAsync("").Result);
        Assert.Equal(204, (int)http.PatchAsync("vm", Json("""{"state":"Resumed"}""")).Result.StatusCode);
        Assert.Contains("\"state\":\"Running\"", http.GetStringAsync("").Result);
        Assert.Equal(204, (int)http.PutAsync("actions", Json("""{"action_type":"FlushMetrics"}""")).Result.StatusCode);
        Assert.Equal(204, (int)http.PutAsync("actions", Json("""{"action_type":"SendCtrlAltDel"}""")).Result.StatusCode);

        int code = vm.WaitForExit(TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"Ctrl+Alt+Del should make the guest reboot and csvmm exit 0, got {code}\n{vm.Transcript}");
        Assert.Contains("CSVMM_CTRL_ALT_DEL", vm.Stdout);
        Assert.False(File.Exists(socket), "the API socket was left behind");
        string logText = File.ReadAllText(log);
        Assert.Contains("[fc-linux", logText);
        string[] metricLines = File.ReadAllLines(metrics);
        Assert.Contains(metricLines, l => l.Contains("\"block_rootfs\"") && l.Contains("\"net_eth0\""));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
