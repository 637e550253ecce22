using Csvmm.Fuzz.Targets;

namespace Csvmm.Fuzz;

/// <summary>Every target by name; each is created on first use (some open files or allocate guest RAM).</summary>
public static class FuzzTargets
{
    private static readonly Dictionary<string, Func<IFuzzTarget>> Factories = new()
    {
        ["virtqueue"] = () => new VirtqueueTarget(),
        ["blk"] = () => new BlockTarget(),
        ["net"] = () => new NetTarget(),
        ["mmio"] = () => new MmioTarget(),
        ["boot"] = () => new BootTarget(),
        ["pci"] = () => new PciTarget(),
        ["http"] = () => new HttpTarget(),
        ["api"] = () => new ApiTarget(),
    };

    private static readonly Dictionary<string, IFuzzTarget> Created = new();

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static IFuzzTarget Get(string name)
    {
        lock (Created)
        {
            if (Created.TryGetValue(name, out var t)) return t;
            if (!Factories.TryGetValue(name, out var make))
                throw new ArgumentException($"unknown fuzz target '{name}' (known: {string.Join(", ", Names)})");
            return Created[name] = make();
        }
    }
}
