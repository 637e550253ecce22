using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>Parses <c>--disk PATH[,ro][,id=ID]</c>.</summary>
public static class DiskSpec
{
    public static DiskConfig Parse(string spec)
    {
        var parts = spec.Split(',');
        if (parts[0].Length == 0) throw new UsageException($"--disk '{spec}': missing path");
        bool ro = false;
        string? id = null;
        foreach (var p in parts.Skip(1))
        {
            if (p == "ro") ro = true;
            else if (p == "rw") ro = false;
            else if (p.StartsWith("id=", StringComparison.Ordinal))
            {
                id = p[3..];
                if (id.Length is 0 or > 20) throw new UsageException($"--disk '{spec}': id must be 1-20 characters");
            }
            else throw new UsageException($"--disk '{spec}': unknown option '{p}' (expected ro, rw or id=ID)");
        }
        return new DiskConfig(parts[0], ro, id);
    }
}
