using Xunit;

namespace Csvmm.Tests.Support;

/// <summary>
/// A test that needs KVM: reported as skipped, with the reason, when /dev/kvm is missing, cannot be
/// opened, or lacks what csvmm needs (<see cref="KvmHost"/>). It is a skippable fact, so the test
/// can also skip itself with its own reason (<c>Skip.If</c>) when another precondition is missing,
/// e.g. the guest images (<see cref="GuestImages.Instance"/>) or root for a network namespace.
/// </summary>
public sealed class KvmFactAttribute : SkippableFactAttribute
{
    public KvmFactAttribute()
    {
        if (KvmHost.UnavailableReason is { } reason) Skip = reason;
    }
}
