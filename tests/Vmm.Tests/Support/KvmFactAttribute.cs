using Xunit;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>A test that needs /dev/kvm: skipped, with the reason in the test report, when the host has none.</summary>
public sealed class KvmFactAttribute : FactAttribute
{
    public KvmFactAttribute()
    {
        if (!File.Exists("/dev/kvm"))
            Skip = "SKIPPED: /dev/kvm does not exist on this host, so boot tests on real KVM cannot run";
    }
}

/// <summary>
/// A test that boots a real Linux guest: needs /dev/kvm (else skipped, loudly) and the images from
/// images/build.sh (missing images fail the test: CI must build them).
/// </summary>
public sealed class GuestFactAttribute : FactAttribute
{
    public GuestFactAttribute()
    {
        if (!File.Exists("/dev/kvm"))
            Skip = "SKIPPED: /dev/kvm does not exist on this host, so guest boot tests cannot run";
    }
}
