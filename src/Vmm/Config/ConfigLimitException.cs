namespace Csvmm.Vmm.Config;

/// <summary>
/// A well-formed configuration this host or csvmm cannot run: more vCPUs than KVM allows, more
/// devices than there are interrupt lines or windows for, a kernel and initrd that do not fit the
/// memory. Exit code 78 (EX_CONFIG).
/// </summary>
public sealed class ConfigLimitException : Exception
{
    public ConfigLimitException(string message) : base(message) { }
}
