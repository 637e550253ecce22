using Csvmm.Kvm;

namespace Csvmm.Vmm.Machine;

/// <summary>vCPU exits counted by reason; one instance per vCPU thread, summed for reports.</summary>
public sealed class ExitCounters
{
    private const int Slots = 64;
    private readonly long[] _counts = new long[Slots];

    public void Count(KvmExitReason reason)
    {
        uint r = (uint)reason;
        Interlocked.Increment(ref _counts[r < Slots ? r : Slots - 1]);
    }

    public long this[KvmExitReason reason] => Interlocked.Read(ref _counts[Math.Min((uint)reason, Slots - 1)]);

    public long Total
    {
        get
        {
            long t = 0;
            for (int i = 0; i < Slots; i++) t += Interlocked.Read(ref _counts[i]);
            return t;
        }
    }

    /// <summary>Non-zero counts by reason name, for logs and stats.</summary>
    public IReadOnlyDictionary<string, long> Snapshot()
    {
        var d = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < Slots; i++)
        {
            long c = Interlocked.Read(ref _counts[i]);
            if (c != 0) d[Enum.IsDefined((KvmExitReason)i) ? ((KvmExitReason)i).ToString() : $"reason{i}"] = c;
        }
        return d;
    }

    public void Add(ExitCounters other)
    {
        for (int i = 0; i < Slots; i++) Interlocked.Add(ref _counts[i], Interlocked.Read(ref other._counts[i]));
    }
}
