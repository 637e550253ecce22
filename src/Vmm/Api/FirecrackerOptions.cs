using Csvmm.Vmm.Api.Http;

namespace Csvmm.Vmm.Api;

/// <summary>The parsed Firecracker command line (src/firecracker/src/main.rs), in csvmm's terms.</summary>
public sealed record FirecrackerOptions
{
    /// <summary>--api-sock; Firecracker's default /run/firecracker.socket.</summary>
    public string ApiSocket { get; init; } = FirecrackerVersions.DefaultApiSocket;

    /// <summary>--no-api: run from <see cref="ConfigFile"/> without a socket (Firecracker requires the file).</summary>
    public bool NoApi { get; init; }

    /// <summary>--config-file: build and start the VM from this JSON at once (the API, if any, stays up for runtime requests).</summary>
    public string? ConfigFile { get; init; }

    /// <summary>--id: 1 to 64 characters, alphanumeric or '-'.</summary>
    public string InstanceId { get; init; } = FirecrackerVersions.DefaultInstanceId;

    /// <summary>--boot-timer: accepted; csvmm's own boot marker (guest-control page) logs the guest's boot time.</summary>
    public bool BootTimer { get; init; }

    /// <summary>--log-path, --level, --module, --show-level, --show-log-origin: the initial logger.</summary>
    public string? LogPath { get; init; }

    public string? Level { get; init; }

    public string? Module { get; init; }

    public bool ShowLevel { get; init; }

    public bool ShowLogOrigin { get; init; }

    /// <summary>--metrics-path: metrics from the start.</summary>
    public string? MetricsPath { get; init; }

    /// <summary>--http-api-max-payload-size: the body limit in bytes (Firecracker's default 51200).</summary>
    public int HttpApiMaxPayloadSize { get; init; } = HttpLimits.DefaultMaxBodyBytes;

    /// <summary>--start-time-us, --start-time-cpu-us (the jailer's): for api_server.process_startup_time_us.</summary>
    public long? StartTimeUs { get; init; }

    public long? StartTimeCpuUs { get; init; }

    /// <summary>--parent-cpu-time-us: accepted; added to the CPU start-up time as Firecracker does.</summary>
    public long? ParentCpuTimeUs { get; init; }

    /// <summary>Flags accepted and not acted on (csvmm has nothing to do for them); worth one log line each.</summary>
    public IReadOnlyList<string> IgnoredFlags { get; init; } = [];

    /// <summary>Arguments after <c>--</c> (Firecracker ignores them too).</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>--enable-pci: virtio-pci devices; without it virtio-mmio, Firecracker's default.</summary>
    public bool EnablePci { get; init; }
}
