using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>A KVM ioctl failed; carries the ioctl name and errno.</summary>
public sealed class KvmException : SystemCallException
{
    public KvmException(string ioctl, int errno) : base(ioctl, errno) => Ioctl = ioctl;

    public string Ioctl { get; }
}
