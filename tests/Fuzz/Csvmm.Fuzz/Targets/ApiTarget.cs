using System.Text;
using System.Text.Json;
using Csvmm.Vmm.Api;
using Csvmm.Vmm.Api.Http;
using Csvmm.Vmm.Api.Models;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// The API router and its strict JSON reading (src/Vmm/Api/ApiRouter.cs, StrictJson.cs) on
/// arbitrary requests, in front of a control that accepts everything and touches no file. Input:
/// a method byte, a path byte (one of the API's paths, or the next bytes as a path), then the
/// body. Checked: the answer is 200 with JSON, 204, or 400 with exactly {"fault_message": ...};
/// nothing escapes the router.
/// </summary>
public sealed class ApiTarget : IFuzzTarget
{
    private static readonly string[] Paths =
    [
        "/", "/version", "/vm/config", "/machine-config", "/boot-source", "/drives/rootfs", "/drives/",
        "/network-interfaces/eth0", "/logger", "/metrics", "/actions", "/vm", "/vsock", "/mmds", "/snapshot/create",
    ];

    private readonly ApiRouter _router = new(new AcceptingControl());
    private readonly HttpRequestParser _parser = new(HttpLimits.Default);

    public string Name => "api";

    public string Description => "method byte, path byte (index or length of a raw path), body bytes";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        string method = (input.U8() % 4) switch { 0 => "GET", 1 => "PUT", 2 => "PATCH", _ => "DELETE" };
        byte p = input.U8();
        string path = p < Paths.Length ? Paths[p] : "/" + Encoding.ASCII.GetString(input.Bytes(p % 32)).Replace(' ', '_').Replace('\r', '_').Replace('\n', '_');
        var body = input.Rest();

        // Build the request through the parser, as the server does.
        var head = Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nContent-Length: {body.Length}\r\n\r\n");
        var bytes = new byte[head.Length + body.Length];
        head.CopyTo(bytes, 0);
        body.CopyTo(bytes.AsSpan(head.Length));
        _parser.Reset();
        if (_parser.Parse(bytes, out _) != HttpParseStatus.Complete) return;

        var response = _router.Handle(_parser.Request);
        switch (response.StatusCode)
        {
            case HttpResponse.NoContentStatus when response.Body is null:
                return;
            case HttpResponse.Ok when response.Body is not null:
                using (JsonDocument.Parse(response.Body)) return;
            case HttpResponse.BadRequest when response.Body is not null:
                using (var doc = JsonDocument.Parse(response.Body))
                {
                    var props = doc.RootElement.EnumerateObject().ToList();
                    if (props.Count != 1 || props[0].Name != "fault_message" || props[0].Value.ValueKind != JsonValueKind.String)
                        throw new FuzzInvariantException($"a 400 body that is not {{\"fault_message\": ...}}: {Encoding.UTF8.GetString(response.Body)}");
                }
                return;
            default:
                throw new FuzzInvariantException($"status {response.StatusCode} with {(response.Body is null ? "no" : "a")} body");
        }
    }

    /// <summary>Accepts every call and reports defaults: the fuzzer exercises parsing and routing only.</summary>
    private sealed class AcceptingControl : IMicroVmControl
    {
        public InstanceInfo GetInstanceInfo() => new() { Id = "fuzz", State = "Not started", VmmVersion = "0", AppName = "csvmm" };
        public string GetVersion() => FirecrackerVersions.ApiVersion;
        public MachineConfig GetMachineConfig() => new();
        public FullVmConfiguration GetFullConfig() => new() { Drives = [], NetworkInterfaces = [] };
        public void PutMachineConfig(MachineConfig config) { }
        public void PatchMachineConfig(MachineConfigUpdate update) { }
        public void PutBootSource(BootSourceConfig config) { }
        public void PutDrive(DriveConfig config) { }
        public void PatchDrive(PartialDrive update) { }
        public void PutNetworkInterface(NetworkInterfaceConfig config) { }
        public void PatchNetworkInterface(PartialNetworkInterface update) { }
        public void PutLogger(LoggerConfig config) { }
        public void PutMetrics(MetricsConfig config) { }
        public void StartInstance() { }
        public void SendCtrlAltDel() { }
        public void FlushMetrics() { }
        public void Pause() { }
        public void Resume() { }
        public void CreateSnapshot(SnapshotCreateParams request) { }
        public void LoadSnapshot(SnapshotLoadParams request) { }
    }
}
