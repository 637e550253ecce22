using Csvmm.Host.Native;
using Xunit;

namespace Csvmm.Devices.Tests.Virtio.Net;

/// <summary>Root-free: only the checks that happen before (or instead of) a real TUNSETIFF.</summary>
public class TapDeviceTests
{
    [Theory]
    [InlineData("tap0")]
    [InlineData("a")]
    [InlineData("vm_1-net.0")]
    [InlineData("fifteen-chars-x")]
    public void Valid_tap_names_are_accepted(string name) => Assert.True(TapDevice.IsValidName(name, out _));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("tap 0")]
    [InlineData("tap/0")]
    [InlineData("tap:0")]
    [InlineData("tap%d")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("täp")]
    public void Invalid_tap_names_are_rejected_with_a_reason(string? name)
    {
        Assert.False(TapDevice.IsValidName(name, out string reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void Opening_an_invalid_name_fails_as_InvalidName_before_touching_the_system()
    {
        var e = Assert.Throws<TapException>(() => TapDevice.Open("way-too-long-name-for-a-tap", "/nonexistent/tun"));
        Assert.Equal(TapErrorKind.InvalidName, e.Kind);
    }

    [Fact]
    public void Missing_tun_device_fails_as_NoTunDevice()
    {
        var e = Assert.Throws<TapException>(() => TapDevice.Open("tap0", "/nonexistent/net/tun"));
        Assert.Equal(TapErrorKind.NoTunDevice, e.Kind);
        Assert.Equal("tap0", e.Name);
        Assert.Contains("/nonexistent/net/tun", e.Message);
    }

    [Fact]
    public void A_node_that_is_not_the_tun_clone_device_fails_as_NoTunDevice()
    {
        var e = Assert.Throws<TapException>(() => TapDevice.Open("tap0", "/dev/null"));
        Assert.Equal(TapErrorKind.NoTunDevice, e.Kind);
    }
}
