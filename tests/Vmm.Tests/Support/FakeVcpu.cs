using Csvmm.Kvm;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// A vCPU without KVM: it plays a script of exits (then halts), or — with <see cref="IgnoreKicks"/> —
/// sits "in KVM_RUN" until the test releases it, as a vCPU that will not stop would.
/// </summary>
public sealed class FakeVcpu(int id = 0) : IVcpu
{
    private readonly Queue<Func<VcpuExitData>> _script = new();
    private readonly ManualResetEventSlim _release = new(false);
    private volatile bool _immediateExit;

    /// <summary>A VcpuExit's fields without spans, so a script can hold them.</summary>
    public sealed record VcpuExitData(KvmExitReason Reason, ushort Port = 0, bool IsWrite = false, byte[]? Data = null,
        ulong Address = 0, uint Suberror = 0, byte[]? InstructionBytes = null, uint SystemEventType = 0);

    public int Id => id;

    /// <summary>Run() blocks until <see cref="Release"/>, whatever immediate_exit says.</summary>
    public bool IgnoreKicks { get; set; }

    /// <summary>Run() spins (returning interruptions when kicked) instead of halting when the script is done.</summary>
    public bool SpinWhenDone { get; set; }

    public int Kicks;
    public int Runs;
    public bool Disposed { get; private set; }

    public FakeVcpu Then(KvmExitReason reason) => Then(new VcpuExitData(reason));

    public FakeVcpu Then(VcpuExitData exit)
    {
        _script.Enqueue(() => exit);
        return this;
    }

    public void Release() => _release.Set();

    public VcpuExit Run()
    {
        Interlocked.Increment(ref Runs);
        if (IgnoreKicks)
        {
            _release.Wait();
            return VcpuExit.Interruption;
        }
        if (_immediateExit) return VcpuExit.Interruption;
        if (_script.TryDequeue(out var next))
        {
            var e = next();
            return new VcpuExit
            {
                Reason = e.Reason, IoPort = e.Port, IoIsOut = e.IsWrite, IoSize = e.Data?.Length ?? 0, IoData = e.Data,
                MmioAddress = e.Address, MmioIsWrite = e.IsWrite, MmioData = e.Data,
                InternalSuberror = e.Suberror, InstructionBytes = e.InstructionBytes, SystemEventType = e.SystemEventType,
            };
        }
        if (SpinWhenDone)
        {
            Thread.Sleep(1);
            return VcpuExit.Interruption;
        }
        return new VcpuExit { Reason = KvmExitReason.Hlt };
    }

    /// <summary>How many times the guest was told it had been paused.</summary>
    public int PauseNotices;

    public void NotifyGuestPaused() => Interlocked.Increment(ref PauseNotices);

    public void SetImmediateExit(bool value)
    {
        if (value) Interlocked.Increment(ref Kicks);
        _immediateExit = value;
    }

    public ulong? Rip() => 0x1000;

    public void Dispose() => Disposed = true;
}
