using Csvmm.Vmm.Api;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>
/// The Firecracker API end to end over its Unix socket (HttpClient), with a fake VM behind the
/// seam: status codes, bodies and messages as Firecracker's, and the state machine.
/// </summary>
public sealed class FirecrackerApiTests : IDisposable
{
    private readonly ApiHarness _api = new();

    public void Dispose() => _api.Dispose();

    private string Json(string text) => text.Replace("KERNEL", _api.Kernel).Replace("ROOTFS", _api.Rootfs);

    private async Task ConfigureMinimalVm()
    {
        Assert.Equal(204, (await _api.Put("/boot-source", Json("""{"kernel_image_path":"KERNEL"}"""))).Status);
    }

    private async Task StartVm()
    {
        await ConfigureMinimalVm();
        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"InstanceStart"}""")).Status);
    }

    private static void AssertFault((int Status, string Body) response, string message)
    {
        Assert.Equal(400, response.Status);
        Assert.Equal(message, FaultMessage(response.Body));
    }

    private static void AssertFaultContains((int Status, string Body) response, string part)
    {
        Assert.Equal(400, response.Status);
        Assert.Contains(part, FaultMessage(response.Body));
    }

    /// <summary>The body must be exactly {"fault_message": "..."}; returns the message.</summary>
    private static string FaultMessage(string body)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(body);
        var only = Assert.Single(doc.RootElement.EnumerateObject());
        Assert.Equal("fault_message", only.Name);
        return only.Value.GetString()!;
    }

    [Fact]
    public async Task Firecracker_go_sdk_sequence_starts_the_vm_with_that_configuration_then_pause_resume_and_ctrl_alt_del()
    {
        string log = _api.Files.PathOf("fc.log"), metrics = _api.Files.PathOf("fc.metrics");
        // The requests and bodies firecracker-go-sdk sends, in its handler order.
        Assert.Equal(204, (await _api.Put("/logger", $$"""{"log_path":"{{log}}","level":"Debug","show_level":true,"show_log_origin":false}""")).Status);
        Assert.Equal(204, (await _api.Put("/metrics", $$"""{"metrics_path":"{{metrics}}"}""")).Status);
        Assert.Equal(204, (await _api.Put("/machine-config", """{"vcpu_count":2,"mem_size_mib":256,"smt":false}""")).Status);
        Assert.Equal(204, (await _api.Put("/boot-source", Json("""{"kernel_image_path":"KERNEL","boot_args":"console=ttyS0 reboot=k panic=1 pci=off"}"""))).Status);
        Assert.Equal(204, (await _api.Put("/drives/1", Json("""{"drive_id":"1","path_on_host":"ROOTFS","is_root_device":true,"is_read_only":false}"""))).Status);
        Assert.Equal(204, (await _api.Put("/network-interfaces/1", """{"iface_id":"1","host_dev_name":"fcapitap0","guest_mac":"AA:FC:00:00:00:01"}""")).Status);
        Assert.Equal("""{"id":"test-vm-1","state":"Not started","vmm_version":"0.1.0","app_name":"csvmm"}""", (await _api.Get("/")).Body);
        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"InstanceStart"}""")).Status);

        var spec = _api.Vm.Started!;
        Assert.Equal(_api.Kernel, spec.KernelPath);
        Assert.Equal("console=ttyS0 reboot=k panic=1 pci=off", spec.Cmdline);
        Assert.True(spec.CmdlineReplacesBase);
        Assert.Equal((256, 2), (spec.MemoryMiB, spec.Vcpus));
        Assert.Equal([new MicroVmDisk(_api.Rootfs, false, "1", true, null)], spec.Disks);
        Assert.Equal("root=/dev/vda rw", spec.RootArgument);
        Assert.Equal("fcapitap0", spec.Nets.Single().Tap);
        Assert.Equal("aa:fc:00:00:00:01", spec.Nets.Single().Mac.ToString());
        Assert.Contains("\"state\":\"Running\"", (await _api.Get("/")).Body);

        Assert.Equal(204, (await _api.Patch("/vm", """{"state":"Paused"}""")).Status);
        Assert.Contains("\"state\":\"Paused\"", (await _api.Get("/")).Body);
        Assert.Equal(204, (await _api.Patch("/vm", """{"state":"Resumed"}""")).Status);
        Assert.Contains("\"state\":\"Running\"", (await _api.Get("/")).Body);
        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"SendCtrlAltDel"}""")).Status);
        Assert.Equal(["ConfigureLogger", "Start", "Pause", "Resume", "SendCtrlAltDel"], _api.Vm.Calls);

        var logger = _api.Vm.Logger!;
        Assert.Equal(Serilog.Events.LogEventLevel.Debug, logger.Level);
        Assert.True(logger.ShowLevel);
        Assert.Equal(log, logger.Output!.Path);

        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"FlushMetrics"}""")).Status);
        string line = File.ReadAllLines(metrics).Single();
        Assert.Contains("\"put_api_requests\":{\"actions_count\":3,\"actions_fails\":0,\"boot_source_count\":1", line);
        Assert.Contains("\"latencies_us\":{\"pause_vm\":", line);
    }

    [Fact]
    public async Task Instance_info_version_and_default_machine_config_are_firecrackers()
    {
        Assert.Equal("""{"id":"test-vm-1","state":"Not started","vmm_version":"0.1.0","app_name":"csvmm"}""", (await _api.Get("/")).Body);
        Assert.Equal($$"""{"firecracker_version":"{{FirecrackerVersions.ApiVersion}}"}""", (await _api.Get("/version")).Body);
        var mc = await _api.Get("/machine-config");
        Assert.Equal(200, mc.Status);
        Assert.Equal("""{"vcpu_count":1,"mem_size_mib":128,"smt":false,"track_dirty_pages":false,"huge_pages":"None"}""", mc.Body);
    }

    [Fact]
    public async Task Put_machine_config_resets_omitted_keys_and_patch_keeps_them()
    {
        Assert.Equal(204, (await _api.Put("/machine-config", """{"vcpu_count":4,"mem_size_mib":512}""")).Status);
        Assert.Equal(204, (await _api.Patch("/machine-config", """{"mem_size_mib":1024}""")).Status);
        Assert.Contains("\"vcpu_count\":4,\"mem_size_mib\":1024", (await _api.Get("/machine-config")).Body);
        AssertFault(await _api.Patch("/machine-config", "{}"), "Empty PATCH request.");
    }

    [Theory]
    [InlineData("""{"vcpu_count":0,"mem_size_mib":128}""", "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled.")]
    [InlineData("""{"vcpu_count":33,"mem_size_mib":128}""", "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled.")]
    [InlineData("""{"vcpu_count":3,"mem_size_mib":128,"smt":true}""", "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even number if SMT is enabled.")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":0}""", "Machine config error: The memory size (MiB) is either 0, or not a multiple of the configured page size.")]
    [InlineData("""{"vcpu_count":2,"mem_size_mib":128,"smt":true}""", "Machine config error: `smt` true cannot be honoured: csvmm gives guests one thread per core (set it to false).")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":128,"track_dirty_pages":true}""", "Machine config error: `track_dirty_pages` true cannot be honoured: csvmm makes full snapshots only and tracks no dirty pages.")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":128,"cpu_template":"T2"}""", "Machine config error: `cpu_template` T2 cannot be honoured: csvmm has no CPU templates (use None).")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":128,"huge_pages":"2M"}""", "Machine config error: `huge_pages` 2M cannot be honoured: csvmm backs guest memory with normal pages (use None).")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":16}""", "Machine config error: `mem_size_mib` 16: csvmm needs at least 32 MiB of guest memory.")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":128,"huge_pages":"1G"}""", "An error occurred when deserializing the json body of a request: unknown variant `1G`, expected one of `None`, `Transparent`, `2M` at `huge_pages`.")]
    [InlineData("""{"vcpu_count":1}""", "An error occurred when deserializing the json body of a request: missing field `mem_size_mib`.")]
    [InlineData("""{"vcpu_count":"2","mem_size_mib":128}""", "An error occurred when deserializing the json body of a request: invalid type: string \"2\", expected a 32-bit integer at `vcpu_count`.")]
    [InlineData("""{"vcpu_count":1,"mem_size_mib":128,"ht_enabled":false}""", "An error occurred when deserializing the json body of a request: unknown field `ht_enabled`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, `cpu_template`, `track_dirty_pages`, `huge_pages`.")]
    public async Task Bad_or_unhonourable_machine_config_is_refused_naming_the_key_and_changes_nothing(string body, string message)
    {
        AssertFault(await _api.Put("/machine-config", body), message);
        Assert.Contains("\"vcpu_count\":1,\"mem_size_mib\":128", (await _api.Get("/machine-config")).Body);
    }

    [Theory]
    [InlineData("""{"drive_id":"d","path_on_host":"ROOTFS","is_root_device":false,"rate_limiter":{"bandwidth":{"size":1000,"refill_time":100}}}""", "Drive config error: `rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).")]
    [InlineData("""{"drive_id":"d","path_on_host":"ROOTFS","is_root_device":false,"io_engine":"Async"}""", "Drive config error: `io_engine` Async cannot be honoured: csvmm serves block requests with synchronous calls on its I/O thread (use Sync).")]
    [InlineData("""{"drive_id":"d","socket":"/run/vhost.sock","is_root_device":false}""", "Drive config error: `socket` cannot be honoured: csvmm has no vhost-user-block backend (give path_on_host).")]
    [InlineData("""{"drive_id":"d","is_root_device":false}""", "Drive config error: Unable to create the virtio block device: Invalid block config.")]
    [InlineData("""{"drive_id":"x","path_on_host":"ROOTFS","is_root_device":false}""", "The id from the path does not match the id from the body!")]
    [InlineData("""{"drive_id":"d","path_on_host":"ROOTFS","is_root_device":false,"cache_type":"None"}""", "An error occurred when deserializing the json body of a request: unknown variant `None`, expected `Unsafe` or `Writeback` at `cache_type`.")]
    [InlineData("""{"drive_id":"d","path_on_host":"ROOTFS"}""", "An error occurred when deserializing the json body of a request: missing field `is_root_device`.")]
    [InlineData("""{"drive_id":"d","path_on_host":"ROOTFS","is_root_device":false,"rate_limiter":{"bandwith":{}}}""", "An error occurred when deserializing the json body of a request: unknown field `bandwith`, expected one of `bandwidth`, `ops` at `rate_limiter`.")]
    public async Task Bad_or_unhonourable_drives_are_refused_naming_the_key(string body, string message)
    {
        AssertFault(await _api.Put("/drives/d", Json(body)), message);
        Assert.Equal("[]", Between((await _api.Get("/vm/config")).Body, "\"drives\":", ",\"boot-source\""));
    }

    [Fact]
    public async Task Drives_without_limits_in_kata_and_firecracker_forms_are_accepted()
    {
        Assert.Equal(204, (await _api.Put("/drives/a", Json("""{"drive_id":"a","path_on_host":"ROOTFS","is_root_device":false,"is_read_only":true,"rate_limiter":{},"io_engine":"Sync","cache_type":"Writeback"}"""))).Status);
        Assert.Equal(204, (await _api.Put("/drives/b", Json("""{"drive_id":"b","path_on_host":"ROOTFS","is_root_device":false,"rate_limiter":null,"partuuid":null}"""))).Status);
    }

    [Fact]
    public async Task The_root_drive_goes_first_a_second_root_is_refused_and_a_drive_id_is_replaced_in_place()
    {
        string data = _api.Files.File("data.img");
        Assert.Equal(204, (await _api.Put("/drives/data", Json($$"""{"drive_id":"data","path_on_host":"{{data}}","is_root_device":false}"""))).Status);
        Assert.Equal(204, (await _api.Put("/drives/rootfs", Json("""{"drive_id":"rootfs","path_on_host":"ROOTFS","is_root_device":true,"is_read_only":true,"partuuid":"0eaa91a0-01"}"""))).Status);
        AssertFault(await _api.Put("/drives/other", Json("""{"drive_id":"other","path_on_host":"ROOTFS","is_root_device":true}""")), "Drive config error: A root block device already exists!");
        Assert.Equal(204, (await _api.Put("/drives/data", Json($$"""{"drive_id":"data","path_on_host":"{{data}}","is_root_device":false,"is_read_only":true}"""))).Status);
        await StartVm();
        var disks = _api.Vm.Started!.Disks;
        Assert.Equal(["rootfs", "data"], disks.Select(d => d.DriveId));
        Assert.True(disks[1].ReadOnly);
        Assert.Equal("root=PARTUUID=0eaa91a0-01 ro", _api.Vm.Started.RootArgument);
    }

    [Fact]
    public async Task Files_that_cannot_be_opened_fail_the_put_as_in_firecracker()
    {
        string missing = _api.Files.PathOf("missing");
        AssertFault(await _api.Put("/boot-source", $$"""{"kernel_image_path":"{{missing}}"}"""), "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)");
        AssertFault(await _api.Put("/boot-source", Json($$"""{"kernel_image_path":"KERNEL","initrd_path":"{{missing}}"}""")),
            "Boot source error: The initrd file cannot be opened due to invalid path or invalid permissions. No such file or directory (os error 2)");
        AssertFault(await _api.Put("/drives/d", $$"""{"drive_id":"d","path_on_host":"{{missing}}","is_root_device":false}"""),
            $"Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: No such file or directory (os error 2) {missing}");
        AssertFault(await _api.Put("/boot-source", $$"""{"kernel_image_path":"{{_api.Files.Dir}}"}"""), "Boot source error: The kernel file cannot be opened: Is a directory (os error 21)");
    }

    [Theory]
    [InlineData("""{"iface_id":"eth0","host_dev_name":"fcapitap0","mtu":1500}""", "Network config error: `mtu` cannot be honoured: csvmm's virtio-net does not offer VIRTIO_NET_F_MTU (leave it out).")]
    [InlineData("""{"iface_id":"eth0","host_dev_name":"fcapitap0","tx_rate_limiter":{"ops":{"size":10,"refill_time":1000}}}""", "Network config error: `tx_rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).")]
    [InlineData("""{"iface_id":"eth0","host_dev_name":"fcapi/tap"}""", "Network config error: Cannot open/create the tap device:")]
    [InlineData("""{"iface_id":"eth0","host_dev_name":"fcapitap0","guest_mac":"12:34"}""", "An error occurred when deserializing the json body of a request: invalid value: string \"12:34\", expected a MAC address")]
    [InlineData("""{"iface_id":"eth1","host_dev_name":"fcapitap0"}""", "The id from the path [eth0] does not match the id from the body [eth1]!")]
    public async Task Bad_or_unhonourable_network_interfaces_are_refused(string body, string messagePart) =>
        AssertFaultContains(await _api.Put("/network-interfaces/eth0", body), messagePart);

    [Fact]
    public async Task Interfaces_without_limits_are_accepted_and_duplicate_macs_or_taps_are_refused()
    {
        Assert.Equal(204, (await _api.Put("/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"fcapitap0","guest_mac":"06:00:ac:10:00:02","rx_rate_limiter":{},"tx_rate_limiter":{}}""")).Status);
        AssertFault(await _api.Put("/network-interfaces/eth1", """{"iface_id":"eth1","host_dev_name":"fcapitap1","guest_mac":"06:00:AC:10:00:02"}"""), "Network config error: The MAC address is already in use: 06:00:ac:10:00:02");
        AssertFault(await _api.Put("/network-interfaces/eth1", """{"iface_id":"eth1","host_dev_name":"fcapitap0"}"""), "Network config error: Cannot open/create the tap device: fcapitap0 is already used by interface eth0");
        Assert.Equal(204, (await _api.Put("/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"fcapitap2"}""")).Status);
    }

    [Fact]
    public async Task Pre_boot_only_requests_after_start_are_refused_with_firecrackers_message()
    {
        await StartVm();
        const string postBoot = "The requested operation is not supported after starting the microVM.";
        AssertFault(await _api.Put("/machine-config", """{"vcpu_count":1,"mem_size_mib":128}"""), postBoot);
        AssertFault(await _api.Patch("/machine-config", """{"vcpu_count":1}"""), postBoot);
        AssertFault(await _api.Put("/boot-source", Json("""{"kernel_image_path":"KERNEL"}""")), postBoot);
        AssertFault(await _api.Put("/drives/d", Json("""{"drive_id":"d","path_on_host":"ROOTFS","is_root_device":false}""")), postBoot);
        AssertFault(await _api.Put("/network-interfaces/e", """{"iface_id":"e","host_dev_name":"fcapitap0"}"""), postBoot);
        AssertFault(await _api.Put("/logger", """{"level":"Info"}"""), postBoot);
        AssertFault(await _api.Put("/metrics", $$"""{"metrics_path":"{{_api.Files.PathOf("m")}}"}"""), postBoot);
        AssertFault(await _api.Put("/actions", """{"action_type":"InstanceStart"}"""), postBoot);
        Assert.Equal(["Start"], _api.Vm.Calls);
    }

    [Fact]
    public async Task Runtime_only_requests_before_start_are_refused_with_firecrackers_message()
    {
        const string preBoot = "The requested operation is not supported before starting the microVM.";
        AssertFault(await _api.Patch("/vm", """{"state":"Paused"}"""), preBoot);
        AssertFault(await _api.Patch("/vm", """{"state":"Resumed"}"""), preBoot);
        AssertFault(await _api.Put("/actions", """{"action_type":"SendCtrlAltDel"}"""), preBoot);
        AssertFault(await _api.Put("/actions", """{"action_type":"FlushMetrics"}"""), preBoot);
        AssertFault(await _api.Patch("/drives/d", """{"drive_id":"d","path_on_host":"x"}"""), preBoot);
        AssertFault(await _api.Patch("/network-interfaces/e", """{"iface_id":"e"}"""), preBoot);
        Assert.Empty(_api.Vm.Calls);
    }

    [Fact]
    public async Task Start_without_a_boot_source_and_a_failing_start_leave_the_vm_not_started()
    {
        AssertFault(await _api.Put("/actions", """{"action_type":"InstanceStart"}"""), "Start microvm error: Cannot start microvm without kernel configuration.");
        await ConfigureMinimalVm();
        _api.Vm.StartFailure = new InvalidOperationException("KVM said no");
        AssertFault(await _api.Put("/actions", """{"action_type":"InstanceStart"}"""), "Start microvm error: KVM said no");
        Assert.Contains("\"state\":\"Not started\"", (await _api.Get("/")).Body);
        _api.Vm.StartFailure = null;
        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"InstanceStart"}""")).Status);
    }

    [Fact]
    public async Task A_request_racing_instance_start_waits_for_it_and_then_sees_the_started_vm()
    {
        await ConfigureMinimalVm();
        using var release = new ManualResetEventSlim();
        _api.Vm.HoldStart = release;
        var start = _api.Put("/actions", """{"action_type":"InstanceStart"}""");
        Assert.True(_api.Vm.StartEntered.Wait(TimeSpan.FromSeconds(10)));
        using var other = UnixHttp.Client(_api.Files.Socket);
        var racer = other.PutAsync("/drives/late", new StringContent(Json("""{"drive_id":"late","path_on_host":"ROOTFS","is_root_device":false}""")));
        await Task.Delay(200);
        Assert.False(racer.IsCompleted, "the racing PUT was answered while InstanceStart was running");
        release.Set();
        Assert.Equal(204, (await start).Status);
        using var late = await racer;
        Assert.Equal(400, (int)late.StatusCode);
        Assert.Contains("not supported after starting the microVM", await late.Content.ReadAsStringAsync());
        Assert.Empty(_api.Vm.Started!.Disks);
    }

    [Theory]
    [InlineData("GET", "/foo", null, "Invalid request method and/or path: GET foo.")]
    [InlineData("DELETE", "/machine-config", null, "Invalid request method and/or path: DELETE machine-config.")]
    [InlineData("PUT", "/version", "{}", "Invalid request method and/or path: PUT version.")]
    [InlineData("GET", "/vm", null, "Invalid request method and/or path: GET vm.")]
    [InlineData("GET", "/machine-config", "{}", "GET request cannot have a body.")]
    [InlineData("PUT", "/boot-source", null, "Empty PUT request.")]
    [InlineData("PATCH", "/vm", null, "Empty PATCH request.")]
    [InlineData("PUT", "/drives", "{}", "The ID cannot be empty.")]
    [InlineData("PUT", "/drives/a-b", "{}", "API Resource IDs can only contain alphanumeric characters and underscores.")]
    [InlineData("PUT", "/actions", """{"action_type":"Reboot"}""", "An error occurred when deserializing the json body of a request: unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, `SendCtrlAltDel` at `action_type`.")]
    [InlineData("PATCH", "/vm", """{"state":"Stopped"}""", "An error occurred when deserializing the json body of a request: unknown variant `Stopped`, expected `Paused` or `Resumed` at `state`.")]
    [InlineData("PUT", "/logger", "{\"level\":", "An error occurred when deserializing the json body of a request: invalid JSON at line 1 column 10.")]
    [InlineData("PUT", "/logger", "[1,2]", "An error occurred when deserializing the json body of a request: invalid type: sequence, expected struct LoggerConfig.")]
    [InlineData("PUT", "/logger", """{"level":"Info","level":"Debug"}""", "An error occurred when deserializing the json body of a request: duplicate field `level`.")]
    [InlineData("PUT", "/logger", """{"level":"Loud"}""", "An error occurred when deserializing the json body of a request: Invalid LevelFilter `Loud` (expected Off, Error, Warning, Info, Debug or Trace) at `level`.")]
    [InlineData("PUT", "/vsock", """{"guest_cid":3,"uds_path":"/v"}""", "csvmm does not support PUT /vsock: it has no virtio-vsock device.")]
    [InlineData("PUT", "/snapshot/create", "{}", "An error occurred when deserializing the json body of a request: missing field `snapshot_path`.")]
    [InlineData("PUT", "/snapshot", "{}", "Missing snapshot operation type.")]
    [InlineData("PUT", "/snapshot/clone", "{}", "Invalid request method and/or path: PUT /snapshot/clone.")]
    [InlineData("PUT", "/snapshot/load", """{"snapshot_path":"s"}""", "An error occurred when deserializing the json body of a request: missing field: either `mem_backend` or `mem_file_path` is required.")]
    [InlineData("PUT", "/snapshot/load", """{"snapshot_path":"s","mem_file_path":"m","mem_backend":{"backend_path":"m","backend_type":"File"}}""", "An error occurred when deserializing the json body of a request: too many fields: either `mem_backend` or `mem_file_path` exclusively is required.")]
    [InlineData("PUT", "/snapshot/load", """{"snapshot_path":"s","mem_backend":{"backend_path":"m"}}""", "An error occurred when deserializing the json body of a request: missing field `backend_type` at `mem_backend`.")]
    [InlineData("PUT", "/snapshot/load", """{"snapshot_path":"s","mem_backend":{"backend_path":"m","backend_type":"Uffd"}}""", "Load snapshot error: `backend_type` Uffd cannot be honoured: csvmm maps the memory file itself (use File).")]
    [InlineData("PUT", "/snapshot/load", """{"snapshot_path":"s","mem_file_path":"m","enable_diff_snapshots":true}""", "Load snapshot error: diff snapshots cannot be honoured: csvmm tracks no dirty pages (leave `enable_diff_snapshots` and `track_dirty_pages` out).")]
    [InlineData("PUT", "/snapshot/create", """{"snapshot_path":"s","mem_file_path":"m"}""", "The requested operation is not supported before starting the microVM.")]
    [InlineData("GET", "/balloon", null, "csvmm does not support GET /balloon: it has no virtio-balloon device.")]
    [InlineData("PUT", "/mmds", "{}", "csvmm does not support PUT /mmds: it has no microVM metadata service.")]
    [InlineData("DELETE", "/drives/rootfs", null, "csvmm does not support DELETE /drives: it cannot unplug a device from a running VM.")]
    public async Task Bad_requests_get_firecrackers_400_and_fault_message(string method, string path, string? body, string message)
    {
        AssertFault(await _api.Send(new HttpMethod(method), path, body), message);
        // The connection and the API stay usable.
        Assert.Equal(200, (await _api.Get("/")).Status);
    }

    [Fact]
    public async Task Vm_config_reports_the_configuration_in_firecrackers_shape()
    {
        await _api.Put("/machine-config", """{"vcpu_count":2,"mem_size_mib":256}""");
        await _api.Put("/boot-source", Json("""{"kernel_image_path":"KERNEL","boot_args":"console=ttyS0"}"""));
        await _api.Put("/drives/rootfs", Json("""{"drive_id":"rootfs","path_on_host":"ROOTFS","is_root_device":true}"""));
        await _api.Put("/network-interfaces/eth0", """{"iface_id":"eth0","host_dev_name":"fcapitap0","guest_mac":"06:00:ac:10:00:02"}""");
        var (status, body) = await _api.Get("/vm/config");
        Assert.Equal(200, status);
        Assert.Equal(Json("""{"drives":[{"drive_id":"rootfs","is_root_device":true,"cache_type":"Unsafe","is_read_only":false,"path_on_host":"ROOTFS","io_engine":"Sync"}],"boot-source":{"kernel_image_path":"KERNEL","boot_args":"console=ttyS0"},"machine-config":{"vcpu_count":2,"mem_size_mib":256,"smt":false,"track_dirty_pages":false,"huge_pages":"None"},"network-interfaces":[{"iface_id":"eth0","host_dev_name":"fcapitap0","guest_mac":"06:00:ac:10:00:02"}]}"""), body);
    }

    [Fact]
    public async Task Metrics_can_be_configured_once_and_flush_writes_deltas_since_the_last_line()
    {
        string metrics = _api.Files.PathOf("metrics.json");
        Assert.Equal(204, (await _api.Put("/metrics", $$$"""{"metrics_path":"{{{metrics}}}","emit_id":true,"properties":{"pool":"a"}}""")).Status);
        AssertFault(await _api.Put("/metrics", $$"""{"metrics_path":"{{metrics}}"}"""),
            "Metrics error: Cannot initialize the metrics system due to bad user input: Reinitialization of metrics not allowed.");
        await StartVm();
        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"FlushMetrics"}""")).Status);
        Assert.Equal(204, (await _api.Put("/actions", """{"action_type":"FlushMetrics"}""")).Status);
        var lines = File.ReadAllLines(metrics);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"id\":\"test-vm-1\",\"properties\":{\"pool\":\"a\"}", lines[0]);
        Assert.Contains("\"metrics_count\":2,\"metrics_fails\":1", lines[0]);
        Assert.Contains("\"actions_count\":2,\"actions_fails\":0", lines[0]);
        // The second line counts only what happened since the first: one more FlushMetrics.
        Assert.Contains("\"actions_count\":1,\"actions_fails\":0", lines[1]);
        Assert.Contains("\"metrics_count\":0,\"metrics_fails\":0", lines[1]);
    }

    [Fact]
    public async Task Patching_a_drive_after_start_hands_the_new_file_to_the_vm()
    {
        await _api.Put("/drives/scratch", Json("""{"drive_id":"scratch","path_on_host":"ROOTFS","is_root_device":false}"""));
        await StartVm();
        string next = _api.Files.File("next.img");
        Assert.Equal(204, (await _api.Patch("/drives/scratch", $$"""{"drive_id":"scratch","path_on_host":"{{next}}"}""")).Status);
        Assert.Contains($"UpdateDrivePath scratch {next}", _api.Vm.Calls);
        Assert.Contains(next, (await _api.Get("/vm/config")).Body);
        AssertFault(await _api.Patch("/drives/none", """{"drive_id":"none","path_on_host":"x"}"""),
            "Drive config error: Unable to patch the block device: no drive has the id `none`. Please verify the request arguments.");
        AssertFault(await _api.Patch("/network-interfaces/none", """{"iface_id":"none"}"""),
            "Network config error: Unable to update the net device: no network interface has the id `none`");
    }

    private static string Between(string text, string start, string end)
    {
        int a = text.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return text[a..text.IndexOf(end, a, StringComparison.Ordinal)];
    }

    [Fact]
    public async Task Snapshot_create_needs_a_paused_vm_full_only_and_leaves_it_paused()
    {
        await StartVm();
        const string create = """{"snapshot_type":"Full","snapshot_path":"/s/vm.snap","mem_file_path":"/s/vm.mem"}""";
        AssertFault(await _api.Put("/snapshot/create", create),
            "Create snapshot error: the microVM must be paused first (PATCH /vm with {\"state\": \"Paused\"}).");
        Assert.Equal(204, (await _api.Patch("/vm", """{"state":"Paused"}""")).Status);
        AssertFault(await _api.Put("/snapshot/create", """{"snapshot_type":"Diff","snapshot_path":"/s/a","mem_file_path":"/s/b"}"""),
            "Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
        Assert.Equal(204, (await _api.Put("/snapshot/create", create)).Status);
        Assert.Equal(["Start", "Pause", "CreateSnapshot /s/vm.snap /s/vm.mem"], _api.Vm.Calls);
        Assert.Contains("\"state\":\"Paused\"", (await _api.Get("/")).Body);
    }

    [Fact]
    public async Task Snapshot_load_builds_the_vm_from_the_snapshot_with_its_tap_overrides_and_resume_choice()
    {
        var load = await _api.Put("/snapshot/load",
            """{"snapshot_path":"/s/vm.snap","mem_backend":{"backend_path":"/s/vm.mem","backend_type":"File"},"resume_vm":false,"network_overrides":[{"iface_id":"eth0","host_dev_name":"tap7"}]}""");
        Assert.Equal(204, load.Status);
        Assert.Equal(["LoadSnapshot /s/vm.snap /s/vm.mem resume=False eth0=tap7"], _api.Vm.Calls);
        Assert.Contains("\"state\":\"Paused\"", (await _api.Get("/")).Body);
        Assert.Contains("\"vcpu_count\":2,\"mem_size_mib\":256", (await _api.Get("/machine-config")).Body);
        // A loaded VM is started: configuring it, or loading again, is refused.
        AssertFault(await _api.Put("/boot-source", Json("""{"kernel_image_path":"KERNEL"}""")), "The requested operation is not supported after starting the microVM.");
        AssertFault(await _api.Put("/snapshot/load", """{"snapshot_path":"/s/vm.snap","mem_file_path":"/s/vm.mem"}"""), "The requested operation is not supported after starting the microVM.");
        Assert.Equal(204, (await _api.Patch("/vm", """{"state":"Resumed"}""")).Status);
        Assert.Contains("\"state\":\"Running\"", (await _api.Get("/")).Body);
    }

    [Fact]
    public async Task Snapshot_load_after_configuring_boot_resources_is_refused_as_firecracker_does()
    {
        await ConfigureMinimalVm();
        AssertFault(await _api.Put("/snapshot/load", """{"snapshot_path":"/s/vm.snap","mem_file_path":"/s/vm.mem","resume_vm":true}"""),
            "Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.");
        Assert.Empty(_api.Vm.Calls);
    }

    [Fact]
    public async Task A_snapshot_that_cannot_be_restored_leaves_the_vmm_not_started()
    {
        _api.Vm.LoadFailure = new Snapshot.SnapshotException(Snapshot.SnapshotProblem.Invalid, "snapshot /s/vm.snap is damaged or altered (checksum mismatch)");
        AssertFault(await _api.Put("/snapshot/load", """{"snapshot_path":"/s/vm.snap","mem_file_path":"/s/vm.mem"}"""),
            "Load snapshot error: Failed to restore from snapshot: snapshot /s/vm.snap is damaged or altered (checksum mismatch)");
        Assert.Contains("\"state\":\"Not started\"", (await _api.Get("/")).Body);
    }
}
