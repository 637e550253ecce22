namespace Csvmm.Devices.Metrics;

/// <summary>
/// A group of <see cref="Counter"/>s declared once: a subclass creates each counter with
/// <see cref="Add"/> in its constructor, naming it with <c>nameof</c> of its own property, and
/// every report (JSON statistics, debug log, metrics) enumerates <see cref="All"/>.
/// </summary>
public abstract class CounterSet
{
    private readonly List<Counter> _all = [];

    /// <summary>Every counter of the set, in declaration order.</summary>
    public IReadOnlyList<Counter> All => _all;

    /// <summary>Declares a counter; <paramref name="propertyName"/> (PascalCase) becomes its camelCase name.</summary>
    protected Counter Add(string propertyName, string description)
    {
        var c = new Counter(char.ToLowerInvariant(propertyName[0]) + propertyName[1..], description);
        _all.Add(c);
        return c;
    }

    /// <summary>The counter called <paramref name="name"/>, or null.</summary>
    public Counter? Find(string name)
    {
        foreach (var c in _all)
            if (c.Name == name) return c;
        return null;
    }

    public override string ToString() => string.Join(' ', _all);
}
