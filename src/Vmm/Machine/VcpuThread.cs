using System.Runtime.InteropServices;
using Csvmm.Host.Native;
using Csvmm.Kvm;
using Serilog;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// One vCPU's thread: KVM_RUN in a loop, each exit handed to the <see cref="VcpuExitHandler"/>, a
/// stop reason ending the run. Kicked out of KVM_RUN with kvm_run.immediate_exit plus SIGUSR1 to
/// the thread (the .NET runtime owns SIGRTMIN; a signalled KVM_RUN returns EINTR, see
/// Documentation/virt/kvm/api.rst "immediate_exit"). It can also be parked outside KVM_RUN (pause)
/// and resumed.
/// </summary>
public sealed class VcpuThread : IDisposable
{
    public const int KickSignal = 10; // SIGUSR1

    // A handler must exist, or SIGUSR1's default action would kill the process; the runtime's
    // native handler makes KVM_RUN return EINTR and defers our (empty) callback to a managed thread.
    private static readonly PosixSignalRegistration KickRegistration =
        PosixSignalRegistration.Create((PosixSignal)KickSignal, ctx => ctx.Cancel = true);

    private readonly IVcpu _vcpu;
    private readonly VcpuExitHandler _handler;
    private readonly IVcpuHost _host;
    private readonly ILogger _log;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _resume = new(true);
    private readonly ManualResetEventSlim _parked = new(false);
    private volatile int _tid;
    private volatile bool _pauseRequested;
    private volatile bool _exited;

    public VcpuThread(IVcpu vcpu, VcpuExitHandler handler, IVcpuHost host, ILogger? log = null)
    {
        GC.KeepAlive(KickRegistration);
        _vcpu = vcpu;
        _handler = handler;
        _host = host;
        _log = log ?? Serilog.Core.Logger.None;
        _thread = new Thread(Loop) { Name = $"vcpu{vcpu.Id}", IsBackground = true };
    }

    public int Id => _vcpu.Id;

    public IVcpu Vcpu => _vcpu;

    public ExitCounters Exits { get; } = new();

    /// <summary>The thread has left its loop for good: it will never enter KVM_RUN again.</summary>
    public bool Exited => _exited || _thread.ThreadState.HasFlag(ThreadState.Unstarted);

    public void Start() => _thread.Start();

    /// <summary>Waits for the thread to end; true when it has (or never started).</summary>
    public bool Join(TimeSpan timeout) => _thread.ThreadState.HasFlag(ThreadState.Unstarted) || _thread.Join(timeout);

    /// <summary>Makes the vCPU leave KVM_RUN whichever side of the ioctl entry it is on.</summary>
    public void Kick()
    {
        _vcpu.SetImmediateExit(true);
        int tid = _tid;
        if (tid != 0 && _thread.IsAlive) Posix.SignalThread(tid, KickSignal);
    }

    /// <summary>Asks the thread to park outside KVM_RUN; <see cref="WaitParked"/> tells when it has.</summary>
    public void RequestPause()
    {
        _resume.Reset();
        _pauseRequested = true;
        Kick();
    }

    public bool WaitParked(TimeSpan timeout) => _parked.Wait(timeout) || _exited;

    /// <summary>Parked outside KVM_RUN by a pause (not merely asked to park).</summary>
    public bool IsParked => _parked.IsSet && !_exited;

    public void Resume()
    {
        _pauseRequested = false;
        _parked.Reset();
        _resume.Set();
    }

    private void Loop()
    {
        _tid = Posix.CurrentThreadId();
        try
        {
            if (_vcpu.Id == 0) _host.OnFirstRun();
            while (!_host.Stopping)
            {
                var exit = _vcpu.Run();
                if (exit.Interrupted)
                {
                    Exits.Count(KvmExitReason.Intr);
                    // Clear before re-checking Stopping: a kick sets Stopping first, so it is seen.
                    _vcpu.SetImmediateExit(false);
                    if (_pauseRequested) Park();
                    continue;
                }
                Exits.Count(exit.Reason);
                if (_handler.Handle(exit, _vcpu) is { } stop)
                {
                    _host.RequestStop(stop);
                    return;
                }
            }
            // Where a stopped guest was is the first question about a hang (see --timeout).
            _log.Debug("vCPU {Id} stopped at {Rip}", Id, VcpuExitHandler.Rip(_vcpu));
        }
        catch (Exception e)
        {
            _log.Debug(e, "vCPU {Id} failed", Id);
            _host.RequestStop(new StopReason(StopKind.VmmError, Detail: $"vCPU {Id}: {e.Message}"));
        }
        finally
        {
            _exited = true;
            _parked.Set();
        }
    }

    private void Park()
    {
        _parked.Set();
        while (_pauseRequested && !_host.Stopping)
            _resume.Wait(TimeSpan.FromMilliseconds(100));
        _parked.Reset();
    }

    public void Dispose()
    {
        _vcpu.Dispose();
        _resume.Dispose();
        _parked.Dispose();
    }
}
