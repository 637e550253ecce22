using Csvmm.Devices.Virtio.Net;

namespace Csvmm.Vmm.Config;

/// <summary>The string form of a network interface, <c>tap=NAME[,mac=MAC]</c> (for <c>--net</c> and the JSON config).</summary>
public static class NetSpec
{
    /// <summary>Parses <paramref name="spec"/>; throws <see cref="UsageException"/> naming <c>--net</c>.</summary>
    public static NetConfig Parse(string spec) =>
        TryParse(spec, out var net, out string problem) ? net : throw new UsageException($"--net '{spec}': {problem}");

    public static bool TryParse(string spec, out NetConfig net, out string problem)
    {
        net = null!;
        string? tap = null;
        string? mac = null;
        foreach (var part in spec.Split(','))
        {
            if (part.StartsWith("tap=", StringComparison.Ordinal)) tap = part[4..];
            else if (part.StartsWith("mac=", StringComparison.Ordinal)) mac = part[4..];
            else
            {
                problem = $"unknown option '{part}' (expected tap=NAME or mac=MAC)";
                return false;
            }
        }
        if (tap is null)
        {
            problem = "tap=NAME is required";
            return false;
        }
        return TryCreate(tap, mac, out net, out problem);
    }

    /// <summary>An interface from its parts (the JSON object form uses this too).</summary>
    public static bool TryCreate(string tap, string? mac, out NetConfig net, out string problem)
    {
        net = null!;
        MacAddress? parsed = null;
        if (mac is not null)
        {
            if (!MacAddress.TryParse(mac, out var m))
            {
                problem = $"'{mac}' is not a MAC address (xx:xx:xx:xx:xx:xx)";
                return false;
            }
            parsed = m;
        }
        net = new NetConfig(tap, parsed);
        problem = net.Problem() ?? "";
        return problem.Length == 0;
    }
}
