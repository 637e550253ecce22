using Xunit;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>The API driven by curl --unix-socket, as Firecracker's own getting-started guide drives it.</summary>
public sealed class CurlApiTests : IDisposable
{
    private readonly ApiHarness _api = new();

    public void Dispose() => _api.Dispose();

    private (int Status, string Body) Curl(string method, string path, string? json = null, params string[] headers) =>
        UnixHttp.Curl(_api.Files.Socket, method, path, json, headers) ?? throw new InvalidOperationException("curl did not run");

    [CurlFact]
    public void Firecracker_go_sdk_sequence_through_curl_configures_starts_pauses_resumes_and_stops_the_vm()
    {
        string metrics = _api.Files.PathOf("metrics.fifo.json");
        Assert.Equal(204, Curl("PUT", "/logger", $$"""{"log_path":"{{_api.Files.PathOf("fc.log")}}","level":"Info"}""").Status);
        Assert.Equal(204, Curl("PUT", "/metrics", $$"""{"metrics_path":"{{metrics}}"}""").Status);
        Assert.Equal(204, Curl("PUT", "/machine-config", """{"vcpu_count":1,"mem_size_mib":128}""").Status);
        Assert.Equal(204, Curl("PUT", "/boot-source", $$"""{"kernel_image_path":"{{_api.Kernel}}","boot_args":"console=ttyS0 reboot=k panic=1"}""").Status);
        Assert.Equal(204, Curl("PUT", "/drives/rootfs", $$"""{"drive_id":"rootfs","path_on_host":"{{_api.Rootfs}}","is_root_device":true,"is_read_only":false}""").Status);
        Assert.Equal(204, Curl("PUT", "/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"fcapitap0","guest_mac":"06:00:ac:10:00:02"}""").Status);
        Assert.Equal(204, Curl("PUT", "/actions", """{"action_type":"InstanceStart"}""").Status);
        Assert.Equal("""{"id":"test-vm-1","state":"Running","vmm_version":"0.1.0","app_name":"csvmm"}""", Curl("GET", "/").Body);
        Assert.Equal(204, Curl("PATCH", "/vm", """{"state":"Paused"}""").Status);
        Assert.Contains("\"state\":\"Paused\"", Curl("GET", "/").Body);
        Assert.Equal(204, Curl("PATCH", "/vm", """{"state":"Resumed"}""").Status);
        Assert.Equal(204, Curl("PUT", "/actions", """{"action_type":"SendCtrlAltDel"}""").Status);
        Assert.Equal(["ConfigureLogger", "Start", "Pause", "Resume", "SendCtrlAltDel"], _api.Vm.Calls);
        Assert.Equal("rootfs", _api.Vm.Started!.Disks.Single().DriveId);
        // Eight curl processes, eight connections: each one was accepted, served and closed.
        Assert.Equal(0, _api.Server.MalformedRequests);
    }

    [CurlFact]
    public void Curl_sees_firecrackers_errors()
    {
        var (status, body) = Curl("PUT", "/actions", """{"action_type":"FlushMetrics"}""");
        Assert.Equal(400, status);
        Assert.Equal("""{"fault_message":"The requested operation is not supported before starting the microVM."}""", body);
        (status, body) = Curl("GET", "/nothing");
        Assert.Equal(400, status);
        Assert.Equal("""{"fault_message":"Invalid request method and/or path: GET nothing."}""", body);
    }

    [CurlFact]
    public void A_large_body_goes_through_curls_expect_100_continue()
    {
        // Older curl sends "Expect: 100-continue" for bodies over 1 KiB by itself and waits (1 s)
        // for the interim answer; 7.88 does not, so ask for it (curl then waits up to 5 s, see Curl).
        string args = new('x', 40000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, _) = Curl("PUT", "/boot-source", $$"""{"kernel_image_path":"{{_api.Kernel}}","boot_args":"{{args}}"}""", "Expect: 100-continue");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"curl waited {clock.Elapsed}: no 100 Continue came");
        Assert.Equal(204, status);
        Assert.Equal(40000, _api.Controller.BuildSpec().Cmdline!.Length);
    }
}
