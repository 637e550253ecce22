using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>KVM cannot be used on this host (missing device, permission, API version, capability).</summary>
public sealed class KvmUnavailableException : Exception
{
    public KvmUnavailableException(string message, int errno) : base(message) => Errno = errno;

    public int Errno { get; }
}
