using System.Text.Json;
using Csvmm.Vmm.Api.Models;

namespace Csvmm.Vmm.Api;

/// <summary>
/// Firecracker's <c>--config-file</c>: the JSON of VmmConfig (src/vmm/src/resources.rs) with the
/// sections "boot-source" and "drives" (both required, as in Firecracker), "machine-config",
/// "network-interfaces", "logger" and "metrics". Sections of devices csvmm does not have
/// (balloon, vsock, mmds-config, entropy, pmem, memory-hotplug, cpu-config) are refused by name
/// unless null, and so is any key Firecracker does not know (Firecracker itself ignores unknown
/// top-level keys). The sections are applied through the same <see cref="FirecrackerController"/>
/// calls as the API, in VmResources::from_json's order, so the same rules and messages apply.
/// </summary>
public static class FirecrackerConfigFile
{
    /// <summary>Reads and applies <paramref name="path"/>; the caller then starts the instance.</summary>
    /// <exception cref="FirecrackerConfigException">With the file name and the key at fault.</exception>
    public static void Load(string path, FirecrackerController controller)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FirecrackerConfigException($"Unable to open or read from the configuration file {path}: {e.Message}", unreadable: true);
        }
        Apply(path, Parse(path, bytes), controller);
    }

    public static FullVmConfiguration Parse(string path, ReadOnlyMemory<byte> json)
    {
        try
        {
            var config = StrictJson.Read(json, FirecrackerJsonContext.Default.FullVmConfiguration);
            if (config.BootSource is null) throw new JsonBodyException("missing field `boot-source`");
            if (config.Drives is null) throw new JsonBodyException("missing field `drives`");
            Refuse(config.Balloon, "balloon", "it has no virtio-balloon device");
            Refuse(config.CpuConfig, "cpu-config", "it has no custom CPU templates");
            Refuse(config.MmdsConfig, "mmds-config", "it has no microVM metadata service");
            Refuse(config.Vsock, "vsock", "it has no virtio-vsock device");
            Refuse(config.Entropy, "entropy", "it has no virtio-rng device");
            Refuse(config.Pmem, "pmem", "it has no virtio-pmem device");
            Refuse(config.MemoryHotplug, "memory-hotplug", "it has no virtio-mem memory hot-plug");
            return config;
        }
        catch (JsonBodyException e)
        {
            throw new FirecrackerConfigException($"Configuration for VMM from one single json failed: {path}: {e.Message}");
        }
    }

    private static void Refuse(JsonElement? section, string key, string why)
    {
        if (section is { ValueKind: not JsonValueKind.Null })
            throw new JsonBodyException($"`{key}` cannot be honoured: {why} (remove the section)");
    }

    private static void Apply(string path, FullVmConfiguration config, FirecrackerController controller)
    {
        Step(path, "logger", () => { if (config.Logger is { } l) controller.PutLogger(l); });
        Step(path, "metrics", () => { if (config.Metrics is { } m) controller.PutMetrics(m); });
        Step(path, "machine-config", () => { if (config.MachineConfig is { } mc) controller.PutMachineConfig(mc); });
        Step(path, "boot-source", () => controller.PutBootSource(config.BootSource!));
        for (int i = 0; i < config.Drives!.Count; i++)
        {
            var drive = config.Drives[i];
            Step(path, $"drives[{i}]", () => controller.PutDrive(drive));
        }
        var nets = config.NetworkInterfaces ?? [];
        for (int i = 0; i < nets.Count; i++)
        {
            var net = nets[i];
            Step(path, $"network-interfaces[{i}]", () => controller.PutNetworkInterface(net));
        }
    }

    private static void Step(string path, string at, Action apply)
    {
        try
        {
            apply();
        }
        catch (FaultException e)
        {
            throw new FirecrackerConfigException($"Configuration for VMM from one single json failed: {path}: {at}: {e.Message}");
        }
        catch (JsonBodyException e)
        {
            throw new FirecrackerConfigException($"Configuration for VMM from one single json failed: {path}: {at}: {e.Message}");
        }
    }
}
