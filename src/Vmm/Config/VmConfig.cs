namespace Csvmm.Vmm.Config;

/// <summary>
/// Everything a run needs, filled once from flags, a JSON config file or (later) an API, and
/// checked by <see cref="VmConfigValidator"/> before anything is opened. The builder, the run
/// loop and the reports all read this one model.
/// </summary>
public sealed record VmConfig
{
    public const int DefaultMemoryMiB = 256;
    public const int MinimumMemoryMiB = 32;

    public required string KernelPath { get; init; }
    public string? InitrdPath { get; init; }

    /// <summary>The user's kernel command-line options, appended to csvmm's own (later options win in Linux).</summary>
    public string? Cmdline { get; init; }

    /// <summary>
    /// When true, <see cref="Cmdline"/> replaces csvmm's base options instead of following them
    /// (Firecracker's boot_args semantics); device declarations are still added.
    /// </summary>
    public bool CmdlineReplacesBase { get; init; }

    /// <summary>
    /// What goes on the command line for the root device: null applies csvmm's rule (the first disk,
    /// unless <see cref="Cmdline"/> sets root=), "" adds nothing, anything else is added as it is
    /// (Firecracker's is_root_device and partuuid).
    /// </summary>
    public string? RootArgument { get; init; }

    public int MemoryMiB { get; init; } = DefaultMemoryMiB;
    public int Cpus { get; init; } = 1;
    public IReadOnlyList<DiskConfig> Disks { get; init; } = [];
    public IReadOnlyList<NetConfig> Nets { get; init; } = [];
    public string KvmDevice { get; init; } = Kvm.KvmSystem.DefaultPath;

    /// <summary>
    /// virtio-pci by default: the kernels users build themselves (x86_64_defconfig +
    /// kvm_guest.config) have no virtio-mmio, while microVM kernels that have virtio-mmio ask for it.
    /// </summary>
    public VirtioTransportKind Transport { get; init; } = VirtioTransportKind.Pci;

    /// <summary>Seconds before the VM is stopped with exit 124; 0 = none.</summary>
    public double TimeoutSeconds { get; init; }

    /// <summary>
    /// With <c>--snapshot-to DIR</c>: when the guest asks (guest-control register 0x0C), save a
    /// snapshot to DIR/vm.snap and DIR/vm.mem and stop (exit 0).
    /// </summary>
    public string? SnapshotTo { get; init; }

    /// <summary>With <c>csvmm restore</c>: the snapshot the VM starts from instead of a kernel.</summary>
    public SnapshotSource? RestoreFrom { get; init; }

    /// <summary>
    /// The VM starts with every vCPU parked before its first instruction and its devices paused,
    /// until resumed (PUT /snapshot/load without resume_vm).
    /// </summary>
    public bool StartPaused { get; init; }

    public ConsoleSpec Console { get; init; } = ConsoleSpec.Stdio;
    public string LogLevel { get; init; } = "info";

    /// <summary>Where <c>--stats</c> JSON goes at exit; null = nowhere.</summary>
    public string? StatsPath { get; init; }

    public ulong MemoryBytes => (ulong)MemoryMiB << 20;
}
