namespace Csvmm.Devices.Metrics;

/// <summary>
/// One monotonically increasing statistic, updated from any thread without allocation. Its
/// <see cref="Name"/> is the one name it has everywhere: the <c>--stats</c> JSON key, the debug
/// summary and the tests all read it from here.
/// </summary>
public sealed class Counter
{
    private long _value;

    internal Counter(string name, string description)
    {
        Name = name;
        Description = description;
    }

    /// <summary>camelCase key, e.g. <c>readRequests</c>.</summary>
    public string Name { get; }

    /// <summary>What is counted, for the README and the debug summary.</summary>
    public string Description { get; }

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    /// <summary>Increments and returns the new value (e.g. to log only the first occurrence).</summary>
    public long IncrementAndGet() => Interlocked.Increment(ref _value);

    public void Add(long amount) => Interlocked.Add(ref _value, amount);

    public override string ToString() => $"{Name}={Value}";
}
