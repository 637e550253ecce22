using System.Text.Json.Serialization.Metadata;
using Csvmm.Vmm.Api.Http;
using Csvmm.Vmm.Api.Metrics;
using Csvmm.Vmm.Api.Models;
using Serilog;

namespace Csvmm.Vmm.Api;

/// <summary>
/// Maps a request to one <see cref="IMicroVmControl"/> call and its result to Firecracker's
/// response: 204 on success, 200 with JSON for a GET, 400 with <c>{"fault_message": ...}</c> for
/// every refusal. The dispatch follows ParsedRequest::try_from (src/firecracker/src/api_server/
/// parsed_request.rs), including its messages for a GET with a body, a PUT/PATCH without one,
/// an unknown path or method, a bad resource id, an id that differs between path and body, and a
/// body that is not the expected JSON. Endpoints of Firecracker devices csvmm does not have
/// (balloon, vsock, MMDS, entropy, pmem, CPU configuration, serial, memory hot-plug)
/// are refused with a message saying so. Never throws.
/// </summary>
public sealed class ApiRouter
{
    private const string DeserializeError = "An error occurred when deserializing the json body of a request: ";

    private static readonly string[] Unsupported =
        ["balloon", "cpu-config", "entropy", "hotplug", "mmds", "pmem", "serial", "vsock"];

    private readonly IMicroVmControl _control;
    private readonly ApiMetrics _metrics;
    private readonly ILogger _log;

    public ApiRouter(IMicroVmControl control, ApiMetrics? metrics = null, ILogger? log = null)
    {
        _control = control;
        _metrics = metrics ?? new ApiMetrics();
        _log = log ?? Serilog.Core.Logger.None;
    }

    public HttpResponse Handle(HttpRequest request)
    {
        _log.Debug("The API server received a {Method} request on {Path}", HttpRequest.MethodName(request.Method), request.Path);
        try
        {
            return Route(request);
        }
        catch (FaultException e)
        {
            return Refuse(e.Message);
        }
        catch (JsonBodyException e)
        {
            return Refuse(DeserializeError + e.Message + ".");
        }
        catch (Exception e)
        {
            _log.Warning("API request {Request} failed unexpectedly: {Message}", request.ToString(), e.Message);
            return Refuse($"Internal VMM error: {e.Message}");
        }
    }

    private HttpResponse Refuse(string message)
    {
        _log.Debug("API request refused: {Message}", message);
        return HttpResponse.Fault(message);
    }

    private HttpResponse Route(HttpRequest request)
    {
        // "Trim starting '/' characters, split by '/'" as Firecracker does; the first token picks the resource.
        var tokens = request.Path.TrimStart('/').Split('/');
        int count = tokens.Length;
        while (count > 0 && tokens[count - 1].Length == 0) count--;
        string resource = count > 0 ? tokens[0] : "";
        string? second = count > 1 ? tokens[1] : null;
        var body = request.Body;
        bool hasBody = request.HasBody;

        switch (request.Method)
        {
            case HttpMethodKind.Get when !hasBody:
                switch (resource)
                {
                    case "":
                        _metrics.Get.Increment("instance_info_count");
                        return Json(_control.GetInstanceInfo(), FirecrackerJsonContext.Default.InstanceInfo);
                    case "version":
                        _metrics.Get.Increment("vmm_version_count");
                        return Json(new FirecrackerVersion { Version = _control.GetVersion() }, FirecrackerJsonContext.Default.FirecrackerVersion);
                    case "vm" when second == "config":
                        return Json(_control.GetFullConfig(), FirecrackerJsonContext.Default.FullVmConfiguration);
                    case "machine-config":
                        _metrics.Get.Increment("machine_cfg_count");
                        return Json(_control.GetMachineConfig(), FirecrackerJsonContext.Default.MachineConfig);
                    case "balloon" or "mmds":
                        return NotSupported(request, resource);
                    case "hotplug" when second == "memory":
                        return NotSupported(request, resource);
                }
                break;
            case HttpMethodKind.Get:
                return Refuse("GET request cannot have a body.");

            case HttpMethodKind.Put when hasBody:
                switch (resource)
                {
                    case "actions":
                        return Counted(_metrics.Put, "actions", () => Action(Read(body, FirecrackerJsonContext.Default.InstanceActionInfo)));
                    case "boot-source":
                        return Counted(_metrics.Put, "boot_source", () => _control.PutBootSource(Read(body, FirecrackerJsonContext.Default.BootSourceConfig)));
                    case "drives":
                        return Counted(_metrics.Put, "drive", () =>
                        {
                            string id = CheckedId(second);
                            var drive = Read(body, FirecrackerJsonContext.Default.DriveConfig);
                            if (drive.DriveId != id) throw new FaultException("The id from the path does not match the id from the body!");
                            _control.PutDrive(drive);
                        });
                    case "logger":
                        return Counted(_metrics.Put, "logger", () => _control.PutLogger(Read(body, FirecrackerJsonContext.Default.LoggerConfig)));
                    case "machine-config":
                        return Counted(_metrics.Put, "machine_cfg", () => _control.PutMachineConfig(Read(body, FirecrackerJsonContext.Default.MachineConfig)));
                    case "metrics":
                        return Counted(_metrics.Put, "metrics", () => _control.PutMetrics(Read(body, FirecrackerJsonContext.Default.MetricsConfig)));
                    case "network-interfaces":
                        return Counted(_metrics.Put, "network", () =>
                        {
                            string id = CheckedId(second);
                            var net = Read(body, FirecrackerJsonContext.Default.NetworkInterfaceConfig);
                            if (net.IfaceId != id)
                                throw new FaultException($"The id from the path [{id}] does not match the id from the body [{net.IfaceId}]!");
                            _control.PutNetworkInterface(net);
                        });
                    case "snapshot":
                        return Snapshot(second, body);
                    case var r when Array.IndexOf(Unsupported, r) >= 0:
                        return NotSupported(request, resource);
                }
                break;
            case HttpMethodKind.Put:
                return Refuse("Empty PUT request.");

            case HttpMethodKind.Patch when resource == "balloon":
                return NotSupported(request, resource);
            case HttpMethodKind.Patch when hasBody:
                switch (resource)
                {
                    case "drives":
                        return Counted(_metrics.Patch, "drive", () =>
                        {
                            string id = CheckedId(second);
                            var drive = Read(body, FirecrackerJsonContext.Default.PartialDrive);
                            if (drive.DriveId != id) throw new FaultException("The id from the path does not match the id from the body!");
                            _control.PatchDrive(drive);
                        });
                    case "machine-config":
                        return Counted(_metrics.Patch, "machine_cfg", () => _control.PatchMachineConfig(Read(body, FirecrackerJsonContext.Default.MachineConfigUpdate)));
                    case "network-interfaces":
                        return Counted(_metrics.Patch, "network", () =>
                        {
                            string id = CheckedId(second);
                            var net = Read(body, FirecrackerJsonContext.Default.PartialNetworkInterface);
                            if (net.IfaceId != id)
                                throw new FaultException($"The id from the path [{id}] does not match the id from the body [{net.IfaceId}]!");
                            _control.PatchNetworkInterface(net);
                        });
                    case "vm":
                        VmStateChange(Read(body, FirecrackerJsonContext.Default.VmStateUpdate));
                        return HttpResponse.NoContent();
                    case "mmds" or "pmem" or "hotplug":
                        return NotSupported(request, resource);
                }
                break;
            case HttpMethodKind.Patch:
                return Refuse("Empty PATCH request.");

            case HttpMethodKind.Delete when !hasBody:
                if (resource is "drives" or "pmem" or "network-interfaces")
                    return Refuse($"csvmm does not support DELETE /{resource}: it cannot unplug a device from a running VM.");
                break;
            case HttpMethodKind.Delete:
                return Refuse("Empty Delete request.");
        }
        return Refuse($"Invalid request method and/or path: {HttpRequest.MethodName(request.Method)} {resource}.");
    }

    /// <summary>PUT /snapshot/create and /snapshot/load (parse_put_snapshot in snapshot.rs).</summary>
    private HttpResponse Snapshot(string? operation, ReadOnlyMemory<byte> body)
    {
        switch (operation)
        {
            case "create":
                _control.CreateSnapshot(Read(body, FirecrackerJsonContext.Default.SnapshotCreateParams));
                return HttpResponse.NoContent();
            case "load":
                _control.LoadSnapshot(Read(body, FirecrackerJsonContext.Default.SnapshotLoadParams));
                return HttpResponse.NoContent();
            case null:
                return Refuse("Missing snapshot operation type.");
            default:
                return Refuse($"Invalid request method and/or path: PUT /snapshot/{operation}.");
        }
    }

    private void Action(InstanceActionInfo action)
    {
        switch (action.ActionType)
        {
            case "InstanceStart":
                _control.StartInstance();
                break;
            case "SendCtrlAltDel":
                _control.SendCtrlAltDel();
                break;
            case "FlushMetrics":
                _control.FlushMetrics();
                break;
            default:
                throw new JsonBodyException($"unknown variant `{action.ActionType}`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel` at `action_type`");
        }
    }

    private void VmStateChange(VmStateUpdate update)
    {
        switch (update.State)
        {
            case "Paused":
                _control.Pause();
                break;
            case "Resumed":
                _control.Resume();
                break;
            default:
                throw new JsonBodyException($"unknown variant `{update.State}`, expected `Paused` or `Resumed` at `state`");
        }
    }

    /// <summary>Runs a PUT/PATCH, counting it and its failure under Firecracker's "{name}_count"/"{name}_fails".</summary>
    private static HttpResponse Counted(MetricGroup group, string name, Action run)
    {
        group.Increment(name + "_count");
        try
        {
            run();
        }
        catch (Exception)
        {
            group.Increment(name + "_fails");
            throw;
        }
        return HttpResponse.NoContent();
    }

    private static HttpResponse NotSupported(HttpRequest request, string resource) =>
        HttpResponse.Fault($"csvmm does not support {HttpRequest.MethodName(request.Method)} /{resource}: {Describe(resource)}.");

    private static string Describe(string resource) => resource switch
    {
        "balloon" => "it has no virtio-balloon device",
        "cpu-config" => "it has no custom CPU templates",
        "entropy" => "it has no virtio-rng device",
        "hotplug" => "it has no virtio-mem memory hot-plug",
        "mmds" => "it has no microVM metadata service",
        "pmem" => "it has no virtio-pmem device",
        "serial" => "the serial console goes where --console (csvmm) sends it",
        _ => "it has no virtio-vsock device",
    };

    /// <summary>checked_id in parsed_request.rs: not empty, only alphanumeric characters and '_'.</summary>
    private static string CheckedId(string? id)
    {
        if (string.IsNullOrEmpty(id)) throw new FaultException("The ID cannot be empty.");
        foreach (char c in id)
            if (c != '_' && !char.IsLetterOrDigit(c))
                throw new FaultException("API Resource IDs can only contain alphanumeric characters and underscores.");
        return id;
    }

    private static T Read<T>(ReadOnlyMemory<byte> body, JsonTypeInfo<T> info) => StrictJson.Read(body, info);

    private static HttpResponse Json<T>(T value, JsonTypeInfo<T> info) =>
        HttpResponse.Json(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, info));
}
