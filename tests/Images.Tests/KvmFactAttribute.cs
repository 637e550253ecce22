using Xunit;

namespace Csvmm.Images.Tests;

/// <summary>
/// A [Fact] that is skipped, with a loud reason, when /dev/kvm is not present
/// (QEMU boots with -enable-kvm would fail there).
/// </summary>
public sealed class KvmFactAttribute : FactAttribute
{
    public KvmFactAttribute()
    {
        if (!File.Exists("/dev/kvm"))
        {
            Skip = "SKIPPED: /dev/kvm does not exist on this machine - guest image boot tests need KVM";
        }
    }
}
