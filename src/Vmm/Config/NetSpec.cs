using Csvmm.Devices.Virtio.Net;
using Csvmm.Host.Native;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>Parses <c>--net tap=NAME[,mac=MAC]</c>.</summary>
public static class NetSpec
{
    public static NetConfig Parse(string spec)
    {
        string? tap = null;
        MacAddress? mac = null;
        foreach (var part in spec.Split(','))
        {
            if (part.StartsWith("tap=", StringComparison.Ordinal)) tap = part[4..];
            else if (part.StartsWith("mac=", StringComparison.Ordinal))
            {
                if (!MacAddress.TryParse(part[4..], out var m))
                    throw new UsageException($"--net '{spec}': '{part[4..]}' is not a MAC address (xx:xx:xx:xx:xx:xx)");
                mac = m;
            }
            else throw new UsageException($"--net '{spec}': unknown option '{part}' (expected tap=NAME or mac=MAC)");
        }
        if (tap is null) throw new UsageException($"--net '{spec}': tap=NAME is required");
        if (!TapDevice.IsValidName(tap, out string reason))
            throw new UsageException($"--net '{spec}': invalid TAP name: {reason}");
        return new NetConfig(tap, mac);
    }
}
