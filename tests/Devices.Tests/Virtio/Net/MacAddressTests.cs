using Csvmm.Devices.Virtio.Net;
using Xunit;

namespace Csvmm.Devices.Tests.Virtio.Net;

public class MacAddressTests
{
    [Fact]
    public void Default_mac_is_the_same_for_the_same_tap_name()
    {
        Assert.Equal(MacAddress.FromName("tap0"), MacAddress.FromName("tap0"));
    }

    [Fact]
    public void Default_mac_differs_between_tap_names()
    {
        var names = new[] { "tap0", "tap1", "tap2", "vm-a", "vm-b", "csvmm0" };
        Assert.Equal(names.Length, names.Select(MacAddress.FromName).Distinct().Count());
    }

    [Theory]
    [InlineData("tap0")]
    [InlineData("x")]
    [InlineData("a-very-long-tap")]
    public void Default_mac_is_locally_administered_unicast(string name)
    {
        var mac = MacAddress.FromName(name);
        Assert.True(mac.IsValidUnicast);
        Assert.True(mac.IsLocallyAdministered);
        Assert.Equal(0x02, mac.B0);
    }

    [Fact]
    public void Default_mac_is_pinned_so_it_never_changes_between_releases()
    {
        // FNV-1a 64 of "tap0"; a change here would give every existing VM a new address (and DHCP lease).
        Assert.Equal("02:ef:07:ac:d0:16", MacAddress.FromName("tap0").ToString());
    }

    [Theory]
    [InlineData("52:54:00:12:34:56")]
    [InlineData("02-AB-cd-EF-00-01")]
    public void Mac_parses_colon_or_dash_separated_hex(string text)
    {
        Assert.True(MacAddress.TryParse(text, out var mac));
        Assert.Equal(text.Replace('-', ':').ToLowerInvariant(), mac.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("52:54:00:12:34")]
    [InlineData("52:54:00:12:34:5g")]
    [InlineData("52:54-00:12:34:56")]
    [InlineData("525400123456")]
    public void Malformed_mac_text_is_rejected(string? text) => Assert.False(MacAddress.TryParse(text, out _));
}
