using Csvmm.Kvm;

namespace Csvmm.Vmm.Config;

/// <summary>What this host allows, read before a VM is built so that limits are checked in one place.</summary>
public sealed record HostLimits(long HostMemoryMiB, int? KvmMaxVcpus)
{
    /// <summary>No limits known (unit tests of the rest of the rules).</summary>
    public static readonly HostLimits Unknown = new(0, null);

    /// <summary>
    /// /proc/meminfo's MemTotal and KVM_CAP_MAX_VCPUS of <paramref name="kvmDevice"/>. A KVM device
    /// that cannot be opened leaves the vCPU limit unknown: the builder reports that device's own
    /// error when it opens it.
    /// </summary>
    public static HostLimits Read(string kvmDevice)
    {
        int? maxVcpus = null;
        try
        {
            using var kvm = KvmSystem.Open(kvmDevice);
            maxVcpus = kvm.CheckExtension(KvmCap.MaxVcpus);
        }
        catch (Exception e) when (e is KvmException or KvmUnavailableException or Host.Native.SystemCallException) { }
        return new HostLimits(ReadHostMemoryMiB(), maxVcpus);
    }

    private static long ReadHostMemoryMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
