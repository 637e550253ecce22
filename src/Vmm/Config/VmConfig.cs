namespace Csvmm.Vmm.Machine;

/// <summary>A disk as the user described it: path, read-only flag, optional serial id.</summary>
public sealed record DiskConfig(string Path, bool ReadOnly = false, string? Id = null);

/// <summary>A network interface: the host TAP it is attached to and the guest MAC (null = derived from the TAP name).</summary>
public sealed record NetConfig(string Tap, Csvmm.Devices.Virtio.Net.MacAddress? Mac = null);

/// <summary>Everything needed to build a VM; produced by the CLI (and later a JSON config).</summary>
public sealed record VmConfig
{
    public const int DefaultMemoryMiB = 256;
    public const int MinimumMemoryMiB = 32;

    public required string KernelPath { get; init; }
    public string? InitrdPath { get; init; }
    /// <summary>Appended to csvmm's base command line (later options win in Linux).</summary>
    public string? Cmdline { get; init; }
    public int MemoryMiB { get; init; } = DefaultMemoryMiB;
    public int Cpus { get; init; } = 1;
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];
    public IReadOnlyList<NetConfig> Nets { get; init; } = [];
    public string KvmDevice { get; init; } = Kvm.KvmSystem.DefaultPath;
    /// <summary>Seconds before the VM is stopped with <see cref="StopKind.Timeout"/>; 0 = none.</summary>
    public double TimeoutSeconds { get; init; }

    public ulong MemoryBytes => (ulong)MemoryMiB << 20;
}
