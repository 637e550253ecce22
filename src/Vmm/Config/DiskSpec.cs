namespace Csvmm.Vmm.Config;

/// <summary>The string form of a disk, <c>PATH[,ro][,id=ID]</c> (for <c>--disk</c> and the JSON config's string form).</summary>
public static class DiskSpec
{
    /// <summary>Parses <paramref name="spec"/>; throws <see cref="UsageException"/> naming <c>--disk</c>.</summary>
    public static DiskConfig Parse(string spec) =>
        TryParse(spec, out var disk, out string problem) ? disk : throw new UsageException($"--disk '{spec}': {problem}");

    public static bool TryParse(string spec, out DiskConfig disk, out string problem)
    {
        disk = null!;
        var parts = spec.Split(',');
        bool ro = false;
        string? id = null;
        foreach (var p in parts.Skip(1))
        {
            if (p == "ro") ro = true;
            else if (p == "rw") ro = false;
            else if (p.StartsWith("id=", StringComparison.Ordinal)) id = p[3..];
            else
            {
                problem = $"unknown option '{p}' (expected ro, rw or id=ID; a path with a comma needs the JSON config's object form)";
                return false;
            }
        }
        disk = new DiskConfig(parts[0], ro, id);
        problem = disk.Problem() ?? "";
        return problem.Length == 0;
    }
}
