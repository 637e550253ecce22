using System.Text;
using System.Diagnostics;
using System.Text.Json;
using Csvmm.Vmm.Tests.Api;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// csvmm run the way orchestrators run the firecracker binary, with tiny kernels so each run
/// takes milliseconds: flintlock's invocation (config file, no API), Kata's (API socket and config
/// file, polled with GET /), pause and resume through PATCH /vm, SIGTERM, and a config error.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class FirecrackerModeTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-fc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Kernel(byte[] image, string name)
    {
        string path = Path.Combine(_dir, name + ".elf");
        File.WriteAllBytes(path, image);
        return path;
    }

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
        string k = Kernel(TinyKernel.PrintThenExit("fc guest\n", 7), "fc-exit7");
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
        string k = Kernel(TinyKernel.Spin(), "fc-spin");
        string socket = Path.Combine(_dir, "fc.sock");
        using var p = Process.Start(CsvmmProcess.StartInfo(["firecracker", "--api-sock", socket, "--config-file", Config(k)]))!;
        try
        {
            using var http = Api(socket);
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
        string k = Kernel(TinyKernel.Spin(), "fc-spin2");
        var r = CsvmmProcess.Run(["firecracker", "--no-api", "--config-file", Config(k, """, "vsock": { "guest_cid": 3, "uds_path": "/tmp/v" }""")], Limit);
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("vsock", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    /// <summary>A client once the socket answers (it exists from bind(2), a moment before listen(2)).</summary>
    private static HttpClient Api(string socket)
    {
        var http = UnixHttp.Client(socket);
        bool answers = SpinWait.SpinUntil(() =>
        {
            try { return http.GetAsync("").Result.IsSuccessStatusCode; }
            catch (AggregateException) { Thread.Sleep(20); return false; }
        }, 10_000);
        Assert.True(answers, $"the API at {socket} never answered");
        return http;
    }

    private static string State(HttpClient http)
    {
        using var doc = JsonDocument.Parse(http.GetStringAsync("").Result);
        return doc.RootElement.GetProperty("state").GetString()!;
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    /// <summary>
    /// An orchestrator's snapshot round trip: PATCH /vm Paused and PUT /snapshot/create in one
    /// Firecracker process; PUT /snapshot/load with resume_vm in a fresh one, whose guest carries
    /// on from where it was: the echo guest echoes what the second process is fed and resets on 'q'.
    /// </summary>
    [KvmFact]
    public void Snapshot_created_through_the_api_loads_and_resumes_in_a_fresh_process()
    {
        string k = Kernel(TinyKernel.EchoUntilQ(), "fc-echo");
        string state = Path.Combine(_dir, "vm.snap"), memory = Path.Combine(_dir, "vm.mem");
        string socket1 = Path.Combine(_dir, "fc1.sock");
        var first = new StringBuilder();
        using (var p = Process.Start(CsvmmProcess.StartInfo(["firecracker", "--api-sock", socket1, "--config-file", Config(k)]))!)
        {
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (first) first.Append(e.Data); };
            p.BeginOutputReadLine();
            try
            {
                using var http = Api(socket1);
                Assert.True(SpinWait.SpinUntil(() => State(http) == "Running", 10_000), "the VM never reported Running");
                p.StandardInput.Write("ab\n");
                p.StandardInput.Flush();
                // The guest polls its UART: once it echoed the line, it has taken the bytes.
                Assert.True(SpinWait.SpinUntil(() => { lock (first) return first.ToString() == "ab"; }, 10_000), "the guest did not echo ab");
                Assert.Equal(204, (int)http.PatchAsync("vm", Json("""{"state":"Paused"}""")).Result.StatusCode);
                var create = http.PutAsync("snapshot/create", Json($$"""{"snapshot_type":"Full","snapshot_path":"{{state}}","mem_file_path":"{{memory}}"}""")).Result;
                Assert.True(create.StatusCode == System.Net.HttpStatusCode.NoContent, create.Content.ReadAsStringAsync().Result);
                Assert.Equal("Paused", State(http));
            }
            finally
            {
                Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
                Assert.True(p.WaitForExit(10_000));
            }
            p.WaitForExit();
        }
        lock (first) Assert.Equal("ab", first.ToString());
        Assert.True(new FileInfo(memory).Length == 64L << 20, "the memory file is not the guest's 64 MiB");

        string socket2 = Path.Combine(_dir, "fc2.sock");
        var second = new StringBuilder();
        using (var p = Process.Start(CsvmmProcess.StartInfo(["firecracker", "--api-sock", socket2]))!)
        {
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (second) second.Append(e.Data); };
            p.BeginOutputReadLine();
            try
            {
                using var http = Api(socket2);
                var load = http.PutAsync("snapshot/load", Json($$"""{"snapshot_path":"{{state}}","mem_backend":{"backend_path":"{{memory}}","backend_type":"File"},"resume_vm":true}""")).Result;
                Assert.True(load.StatusCode == System.Net.HttpStatusCode.NoContent, load.Content.ReadAsStringAsync().Result);
                Assert.Equal("Running", State(http));
                p.StandardInput.Write("cd q");
                p.StandardInput.Close();
                Assert.True(p.WaitForExit(30_000), "the restored guest did not reset on 'q'");
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        lock (second) Assert.Equal("cd q", second.ToString());
    }
}
