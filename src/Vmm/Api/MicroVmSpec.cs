namespace Csvmm.Vmm.Api;

/// <summary>
/// What an InstanceStart asks for, from the Firecracker-shaped configuration, in csvmm's terms:
/// the record <see cref="IVmLifecycle.Start"/> turns into csvmm's own VM configuration.
/// </summary>
public sealed record MicroVmSpec
{
    public required string KernelPath { get; init; }

    public string? InitrdPath { get; init; }

    /// <summary>
    /// Firecracker's <c>boot_args</c>. When <see cref="CmdlineReplacesBase"/> it is the whole
    /// command line: csvmm's base line (console=ttyS0 reboot=k ...) is not used, exactly as
    /// Firecracker drops its DEFAULT_KERNEL_CMDLINE when boot_args is given; the device
    /// declarations (virtio_mmio.device=...) and <see cref="RootArgument"/> are still appended.
    /// </summary>
    public string? Cmdline { get; init; }

    /// <summary>True when boot_args was given (even empty): it replaces csvmm's base command line.</summary>
    public bool CmdlineReplacesBase { get; init; }

    public int MemoryMiB { get; init; }

    public int Vcpus { get; init; }

    /// <summary>In guest order (vda, vdb, ...): the root device first, as Firecracker orders them.</summary>
    public IReadOnlyList<MicroVmDisk> Disks { get; init; } = [];

    /// <summary>In guest order (eth0, eth1, ...).</summary>
    public IReadOnlyList<MicroVmNet> Nets { get; init; } = [];

    /// <summary>
    /// What Firecracker appends for a drive with is_root_device (append_root_device_cmdline in
    /// src/vmm/src/vmm_config/boot_source.rs): <c>root=/dev/vda rw</c>, <c>root=PARTUUID=... ro</c>,
    /// or null when no drive is the root (an initrd boot, or root= given in boot_args).
    /// </summary>
    public string? RootArgument
    {
        get
        {
            if (Disks.Count == 0 || !Disks[0].IsRoot) return null;
            var root = Disks[0];
            string device = root.PartUuid is { } uuid ? $"root=PARTUUID={uuid}" : "root=/dev/vda";
            return $"{device} {(root.ReadOnly ? "ro" : "rw")}";
        }
    }
}
