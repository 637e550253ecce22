using Csvmm.Vmm.Api;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

public sealed class FirecrackerConfigFileTests : IDisposable
{
    private readonly TempFiles _files = new();
    private readonly FakeVm _vm = new();
    private readonly FirecrackerController _controller;
    private readonly string _kernel;
    private readonly string _rootfs;

    public FirecrackerConfigFileTests()
    {
        _controller = new FirecrackerController(_vm, "cfg", "0.1.0");
        _kernel = _files.File("vmlinux");
        _rootfs = _files.File("rootfs.ext4");
    }

    public void Dispose()
    {
        _controller.Dispose();
        _files.Dispose();
    }

    private string Write(string json)
    {
        string path = _files.PathOf("vm_config.json");
        File.WriteAllText(path, json.Replace("KERNEL", _kernel).Replace("ROOTFS", _rootfs));
        return path;
    }

    private string Refusal(string json) =>
        Assert.Throws<FirecrackerConfigException>(() => FirecrackerConfigFile.Load(Write(json), _controller)).Message;

    [Fact]
    public void Firecrackers_getting_started_config_file_is_applied_in_full()
    {
        // The shape of Firecracker's docs/getting-started.md vm_config.json, as flintlock and Kata write it.
        FirecrackerConfigFile.Load(Write("""
            {
              "boot-source": { "kernel_image_path": "KERNEL", "boot_args": "console=ttyS0 reboot=k panic=1 pci=off", "initrd_path": null },
              "drives": [ { "drive_id": "rootfs", "partuuid": null, "is_root_device": true, "cache_type": "Unsafe",
                            "is_read_only": false, "path_on_host": "ROOTFS", "io_engine": "Sync", "rate_limiter": null, "socket": null } ],
              "machine-config": { "vcpu_count": 2, "mem_size_mib": 1024, "smt": false, "track_dirty_pages": false, "huge_pages": "None" },
              "cpu-config": null, "balloon": null,
              "network-interfaces": [ { "iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "fcapitap0" } ],
              "vsock": null, "logger": null, "metrics": null, "mmds-config": null, "entropy": null
            }
            """), _controller);
        _controller.StartInstance();
        var spec = _vm.Started!;
        Assert.Equal((2, 1024), (spec.Vcpus, spec.MemoryMiB));
        Assert.Equal("console=ttyS0 reboot=k panic=1 pci=off", spec.Cmdline);
        Assert.True(spec.CmdlineReplacesBase);
        Assert.Equal("root=/dev/vda rw", spec.RootArgument);
        Assert.Equal("fcapitap0", spec.Nets.Single().Tap);
        Assert.Equal(VmState.Running, _controller.State);
    }

    [Fact]
    public void Without_boot_args_csvmms_base_command_line_stays()
    {
        FirecrackerConfigFile.Load(Write("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[]}"""), _controller);
        var spec = _controller.BuildSpec();
        Assert.False(spec.CmdlineReplacesBase);
        Assert.Null(spec.Cmdline);
        Assert.Null(spec.RootArgument);
        Assert.Equal((1, 128), (spec.Vcpus, spec.MemoryMiB));
    }

    [Fact]
    public void Logger_and_metrics_sections_are_applied_first()
    {
        FirecrackerConfigFile.Load(Write($$"""
            {"logger":{"log_path":"{{_files.PathOf("log")}}","level":"Warning"},"metrics":{"metrics_path":"{{_files.PathOf("metrics")}}"},
             "boot-source":{"kernel_image_path":"KERNEL"},"drives":[]}
            """), _controller);
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, _vm.Logger!.Level);
        Assert.NotNull(_controller.Metrics);
    }

    [Theory]
    [InlineData("""{"drives":[]}""", "missing field `boot-source`")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"}}""", "missing field `drives`")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[],"vsock":{"guest_cid":3,"uds_path":"/v.sock"}}""", "`vsock` cannot be honoured: it has no virtio-vsock device (remove the section)")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[],"balloon":{"amount_mib":0,"deflate_on_oom":true}}""", "`balloon` cannot be honoured: it has no virtio-balloon device")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[],"mmds-config":{"network_interfaces":[]}}""", "`mmds-config` cannot be honoured")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[],"serial":{}}""", "unknown field `serial`, expected one of `balloon`, `drives`, `boot-source`")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL","kernel_args":"x"},"drives":[]}""", "unknown field `kernel_args`, expected one of `kernel_image_path`, `initrd_path`, `boot_args` at `boot-source`")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[{"drive_id":"a","is_root_device":"yes","path_on_host":"ROOTFS"}]}""", "invalid type: string \"yes\", expected a boolean at `drives[0].is_root_device`")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[],"machine-config":{"vcpu_count":2,"mem_size_mib":256,"smt":true}}""", "machine-config: Machine config error: `smt` true cannot be honoured")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[{"drive_id":"a","is_root_device":true,"path_on_host":"ROOTFS"},{"drive_id":"b","is_root_device":true,"path_on_host":"ROOTFS"}]}""", "drives[1]: Drive config error: A root block device already exists!")]
    [InlineData("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[],"network-interfaces":[{"iface_id":"a","host_dev_name":"fcapitap0","rx_rate_limiter":{"bandwidth":{"size":1,"refill_time":1}}}]}""", "network-interfaces[0]: Network config error: `rx_rate_limiter` cannot be honoured")]
    [InlineData("{\"boot-source\":{\"kernel_image_path\":\"KERNEL\"},\"drives\":[] // comment\n}", "invalid JSON at line 1 column")]
    public void A_config_file_csvmm_cannot_honour_is_refused_naming_the_file_and_key(string json, string messagePart)
    {
        string message = Refusal(json);
        Assert.StartsWith($"Configuration for VMM from one single json failed: {_files.PathOf("vm_config.json")}: ", message);
        Assert.Contains(messagePart, message);
        Assert.Equal(VmState.NotStarted, _controller.State);
        Assert.Null(_vm.Started);
    }

    [Fact]
    public void A_failing_start_keeps_what_the_vm_threw_for_the_exit_code()
    {
        FirecrackerConfigFile.Load(Write("""{"boot-source":{"kernel_image_path":"KERNEL"},"drives":[]}"""), _controller);
        var cause = new IOException("disk locked");
        _vm.StartFailure = cause;
        var e = Assert.Throws<FaultException>(_controller.StartInstance);
        Assert.Equal("Start microvm error: disk locked", e.Message);
        Assert.Same(cause, e.InnerException);
    }

    [Fact]
    public void A_missing_config_file_is_unreadable()
    {
        var e = Assert.Throws<FirecrackerConfigException>(() => FirecrackerConfigFile.Load(_files.PathOf("none.json"), _controller));
        Assert.True(e.Unreadable);
        Assert.Contains("Unable to open or read from the configuration file", e.Message);
    }
}
