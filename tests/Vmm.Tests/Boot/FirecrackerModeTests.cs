using System.Diagnostics;
using System.Text.Json;
using Csvmm.Vmm.Tests.Api;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// csvmm run the way orchestrators run the firecracker binary, with tiny kernels so each run
/// takes milliseconds: flintlock's invocation (config file, no API), Kata's (API socket and config
/// file, polled with GET /), pause and resume through PATCH /vm, SIGTERM, and a config error.
/// </summary>
public sealed class FirecrackerModeTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-fc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string kernel, string? extra = null)
    {
        string path = Path.Combine(_dir, "vm.json");
        File.WriteAllText(path, $$"""
            {
              "boot-source": { "kernel_image_path": "{{kernel}}", "boot_args": "console=ttyS0" },
              "drives": [],
              "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 }{{extra}}
            }
            """);
        return path;
    }

    /// <summary>flintlock: firecracker --id ID --boot-timer --no-api --config-file J; the guest's verdict is the exit code.</summary>
    [KvmFact]
    public void Flintlock_invocation_boots_from_the_config_file_without_an_api()
    {
        string k = TinyKernel.WriteTemp(TinyKernel.PrintThenExit("fc guest\n", 7), "fc-exit7");
        var r = CsvmmProcess.Run(["firecracker", "--id", "vm-42", "--boot-timer", "--no-api", "--config-file", Config(k)], Limit);
        Assert.Equal(7, r.ExitCode);
        Assert.Equal("fc guest\n", r.Stdout);
    }

    /// <summary>
    /// Kata: firecracker --api-sock S --config-file J, then GET / until the VM runs; PATCH /vm pauses
    /// and resumes it (GET / follows); SIGTERM stops it (143) and removes the socket.
    /// </summary>
    [KvmFact]
    public void Kata_invocation_answers_get_on_the_socket_pauses_resumes_and_stops_on_sigterm()
    {
        string k = TinyKernel.WriteTemp(TinyKernel.Spin(), "fc-spin");
        string socket = Path.Combine(_dir, "fc.sock");
        using var p = Process.Start(CsvmmProcess.StartInfo(["firecracker", "--api-sock", socket, "--config-file", Config(k)]))!;
        try
        {
            Assert.True(SpinWait.SpinUntil(() => File.Exists(socket), 10_000), "the API socket never appeared");
            using var http = UnixHttp.Client(socket);
            // Kata polls GET / until the VM runs: the socket answers while the VM is still being built.
            Assert.True(SpinWait.SpinUntil(() => State(http) == "Running", 10_000), "the VM never reported Running");
            var pause = http.PatchAsync("vm", Json("""{"state":"Paused"}""")).Result;
            Assert.Equal(204, (int)pause.StatusCode);
            Assert.Equal("Paused", State(http));
            var resume = http.PatchAsync("vm", Json("""{"state":"Resumed"}""")).Result;
            Assert.Equal(204, (int)resume.StatusCode);
            Assert.Equal("Running", State(http));
            var early = http.PutAsync("boot-source", Json($$"""{"kernel_image_path":"{{k}}"}""")).Result;
            Assert.Equal(400, (int)early.StatusCode);
            Assert.Contains("not supported after starting", early.Content.ReadAsStringAsync().Result);
        }
        finally
        {
            Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
            Assert.True(p.WaitForExit(10_000));
        }
        Assert.Equal(143, p.ExitCode);
        Assert.False(File.Exists(socket), "the socket was left behind");
    }

    [KvmFact]
    public void A_config_file_with_a_key_csvmm_cannot_honour_is_refused_naming_the_key()
    {
        string k = TinyKernel.WriteTemp(TinyKernel.Spin(), "fc-spin2");
        var r = CsvmmProcess.Run(["firecracker", "--no-api", "--config-file", Config(k, """, "vsock": { "guest_cid": 3, "uds_path": "/tmp/v" }""")], Limit);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("vsock", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    private static string State(HttpClient http)
    {
        using var doc = JsonDocument.Parse(http.GetStringAsync("").Result);
        return doc.RootElement.GetProperty("state").GetString()!;
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
