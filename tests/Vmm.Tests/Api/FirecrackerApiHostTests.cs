using Csvmm.Vmm.Api;
using Csvmm.Vmm.Api.Http;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>Start-up in Firecracker's order, as each orchestrator invokes it.</summary>
public sealed class FirecrackerApiHostTests : IDisposable
{
    private readonly TempFiles _files = new();
    private readonly FakeVm _vm = new();

    public void Dispose() => _files.Dispose();

    private string Config()
    {
        string path = _files.PathOf("vm.json");
        File.WriteAllText(path, $$"""{"boot-source":{"kernel_image_path":"{{_files.File("vmlinux")}}"},"drives":[]}""");
        return path;
    }

    [Fact]
    public async Task Api_sock_with_config_file_starts_at_once_and_keeps_the_api_for_runtime_requests()
    {
        var parsed = FirecrackerCommandLine.Parse(["--api-sock", _files.Socket, "--config-file", Config(), "--id", "kata-1"]);
        using var host = FirecrackerApiHost.Start(parsed.Options!, _vm, "0.1.0");
        Assert.NotNull(_vm.Started);
        using var http = UnixHttp.Client(_files.Socket);
        Assert.Equal("""{"id":"kata-1","state":"Running","vmm_version":"0.1.0","app_name":"csvmm"}""", await http.GetStringAsync("/"));
        using var pause = await http.PatchAsync("/vm", new StringContent("""{"state":"Paused"}"""));
        Assert.Equal(204, (int)pause.StatusCode);
        Assert.Equal(["Start", "Pause"], _vm.Calls);
    }

    [Fact]
    public void No_api_with_config_file_starts_without_a_socket()
    {
        var parsed = FirecrackerCommandLine.Parse(["--id", "flint-1", "--boot-timer", "--no-api", "--config-file", Config(), "--api-sock", _files.Socket]);
        using var host = FirecrackerApiHost.Start(parsed.Options!, _vm, "0.1.0");
        Assert.Null(host.Server);
        Assert.False(File.Exists(_files.Socket));
        Assert.Equal(VmState.Running, host.Controller.State);
    }

    [Fact]
    public async Task Api_sock_alone_waits_for_instance_start_and_reports_its_start_up_time()
    {
        long now = (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
        var parsed = FirecrackerCommandLine.Parse(["--api-sock", _files.Socket, "--start-time-us", (now - 5000).ToString(),
            "--metrics-path", _files.PathOf("metrics"), "--level", "Error", "--log-path", _files.PathOf("log")]);
        using var host = FirecrackerApiHost.Start(parsed.Options!, _vm, "0.1.0");
        Assert.Null(_vm.Started);
        Assert.Equal(Serilog.Events.LogEventLevel.Error, _vm.Logger!.Level);
        Assert.InRange(host.Controller.ApiMetrics.ApiServer.Get("process_startup_time_us")!.Value, 5000, 60_000_000);
        using var http = UnixHttp.Client(_files.Socket);
        Assert.Contains("Not started", await http.GetStringAsync("/"));
    }

    [Fact]
    public void A_refused_config_file_stops_start_up_and_leaves_no_socket_behind()
    {
        string bad = _files.PathOf("bad.json");
        File.WriteAllText(bad, """{"boot-source":{"kernel_image_path":"/nonexistent"},"drives":[]}""");
        var parsed = FirecrackerCommandLine.Parse(["--api-sock", _files.Socket, "--config-file", bad]);
        var e = Assert.Throws<FirecrackerConfigException>(() => FirecrackerApiHost.Start(parsed.Options!, _vm, "0.1.0"));
        Assert.Contains("boot-source: Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)", e.Message);
        Assert.False(File.Exists(_files.Socket));
    }

    [Fact]
    public void A_socket_path_in_use_stops_start_up()
    {
        File.WriteAllText(_files.Socket, "");
        var parsed = FirecrackerCommandLine.Parse(["--api-sock", _files.Socket]);
        Assert.Throws<ApiSocketException>(() => FirecrackerApiHost.Start(parsed.Options!, _vm, "0.1.0"));
    }
}
