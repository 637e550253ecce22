using Csvmm.Vmm.Arch.X86_64;

namespace Csvmm.Vmm.Config;

/// <summary>
/// Every limit a configuration must respect, checked in one place before any file, device or KVM
/// object is opened. Values out of range are usage errors (64); well-formed configurations this
/// host or csvmm cannot run are configuration errors (78). Limits that depend on the kernel image
/// (its command-line size, its size against the memory) are checked by the kernel loader, which is
/// the first to know them.
/// </summary>
public static class VmConfigValidator
{
    /// <summary>The longest --timeout: a wait is counted in milliseconds in an int.</summary>
    public static readonly double MaxTimeoutSeconds = int.MaxValue / 1000;

    public static void Validate(VmConfig config, HostLimits host)
    {
        if (config.KernelPath.Length == 0 && config.RestoreFrom is null)
            throw new UsageException("missing --kernel");
        if (config.MemoryMiB < VmConfig.MinimumMemoryMiB)
            throw new UsageException($"--memory {config.MemoryMiB}: at least {VmConfig.MinimumMemoryMiB} MiB is needed");
        if (host.HostMemoryMiB > 0 && config.MemoryMiB > host.HostMemoryMiB)
            throw new UsageException($"--memory {config.MemoryMiB}: more than this host's {host.HostMemoryMiB} MiB of RAM");
        if (config.Cpus < 1)
            throw new UsageException($"--cpus {config.Cpus}: at least 1 vCPU is needed");
        if (config.Cpus > MpTable.MaxCpus)
            throw new UsageException($"--cpus {config.Cpus}: csvmm supports at most {MpTable.MaxCpus} vCPUs (the MP table's room)");
        if (host.KvmMaxVcpus is { } kvmMax && config.Cpus > kvmMax)
            throw new ConfigLimitException($"--cpus {config.Cpus} is above this host's KVM limit of {kvmMax}");
        if (double.IsNaN(config.TimeoutSeconds) || config.TimeoutSeconds < 0 || config.TimeoutSeconds > MaxTimeoutSeconds)
            throw new UsageException($"--timeout {config.TimeoutSeconds}: must be 0 (none) or a number of seconds up to {MaxTimeoutSeconds}");

        for (int i = 0; i < config.Disks.Count; i++)
            if (config.Disks[i].Problem() is { } p)
                throw new UsageException($"disk {i} ({config.Disks[i].Path}): {p}");
        for (int i = 0; i < config.Nets.Count; i++)
            if (config.Nets[i].Problem() is { } p)
                throw new UsageException($"network interface {i} ({config.Nets[i].Tap}): {p}");

        int devices = config.Disks.Count + config.Nets.Count;
        var (capacity, why) = config.Transport == VirtioTransportKind.Pci
            ? (ResourceAllocator.VirtioPciCapacity, "the PCI bus has slots for at most")
            : (ResourceAllocator.VirtioMmioCapacity, "virtio-mmio has interrupt lines for at most");
        if (devices > capacity)
            throw new ConfigLimitException(
                $"{config.Disks.Count} disks and {config.Nets.Count} network interfaces make {devices} virtio devices; {why} {capacity}");
    }
}
