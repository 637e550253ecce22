using Xunit;

namespace Csvmm.Kvm.Tests.Support;

/// <summary>A test that needs /dev/kvm: skipped, with the reason in the test report, when the host has none.</summary>
public sealed class RealKvmFactAttribute : FactAttribute
{
    public RealKvmFactAttribute()
    {
        if (!File.Exists(KvmSystem.DefaultPath))
            Skip = $"SKIPPED: {KvmSystem.DefaultPath} does not exist on this host, so tests on real KVM cannot run";
    }
}
