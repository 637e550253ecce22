namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// One object of a Firecracker metrics line ("put_api_requests", "vcpu", "block_rootfs", ...):
/// a fixed set of keys with a value each. A counter group holds cumulative counts and is written
/// as the change since the previous line (Firecracker's SharedIncMetric); a store group is written
/// as it is (SharedStoreMetric). Thread-safe: writers increment, the flushing thread reads.
/// </summary>
public sealed class MetricGroup
{
    private readonly string[] _keys;
    private readonly long[] _values;
    private readonly bool[] _set;

    public MetricGroup(string name, bool isCounter, params string[] keys)
        : this(name, isCounter, allKeysPresent: false, keys)
    {
    }

    /// <param name="allKeysPresent">Write every key from the start (as 0), not only the keys set so far.</param>
    public MetricGroup(string name, bool isCounter, bool allKeysPresent, params string[] keys)
    {
        Name = name;
        IsCounter = isCounter;
        _keys = keys;
        _values = new long[keys.Length];
        _set = new bool[keys.Length];
        if (allKeysPresent) Array.Fill(_set, true);
    }

    public string Name { get; }

    public bool IsCounter { get; }

    public IReadOnlyList<string> Keys => _keys;

    public void Increment(string key) => Add(key, 1);

    public void Add(string key, long amount)
    {
        int i = IndexOf(key);
        Interlocked.Add(ref _values[i], amount);
        Volatile.Write(ref _set[i], true);
    }

    /// <summary>Sets a value (cumulative for a counter, the current value for a store).</summary>
    public void Set(string key, long value)
    {
        int i = IndexOf(key);
        Interlocked.Exchange(ref _values[i], value);
        Volatile.Write(ref _set[i], true);
    }

    /// <summary>The value of <paramref name="key"/>, or null when nothing ever set it (the key is then left out).</summary>
    public long? Get(string key)
    {
        int i = IndexOf(key);
        return Volatile.Read(ref _set[i]) ? Interlocked.Read(ref _values[i]) : null;
    }

    private int IndexOf(string key)
    {
        int i = Array.IndexOf(_keys, key);
        if (i < 0) throw new ArgumentException($"metric group {Name} has no key {key}", nameof(key));
        return i;
    }
}
