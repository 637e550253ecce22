using Csvmm.Tests.Support;
using Xunit;

namespace Csvmm.Kvm.Tests;

public sealed class BootCollectionTests
{
    /// <summary>Guests running at once starve each other on the 2-core build host (see BootTest).</summary>
    [Fact]
    public void Every_class_with_a_boot_test_is_in_the_boot_collection() =>
        Assert.Empty(BootTest.ClassesOutsideTheCollection(typeof(BootCollectionTests).Assembly));
}
