using Csvmm.Devices.Virtio.Net;
using Csvmm.Host.Native;

namespace Csvmm.Vmm.Config;

/// <summary>A network interface: the host TAP it is attached to and the guest MAC (null = derived from the TAP name).</summary>
public sealed record NetConfig(string Tap, MacAddress? Mac = null)
{
    /// <summary>The Firecracker API's iface_id (a snapshot load's network_overrides name it); the CLI names none.</summary>
    public string? Name { get; init; }

    /// <summary>What is wrong with this interface's settings, or null.</summary>
    public string? Problem() =>
        !TapDevice.IsValidName(Tap, out string reason) ? $"invalid TAP name: {reason}"
        : Mac is { } m && !m.IsValidUnicast ? $"MAC address {m} is not a unicast address"
        : null;
}
