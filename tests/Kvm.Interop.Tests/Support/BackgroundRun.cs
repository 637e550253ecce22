using System.Runtime.InteropServices;
using Csvmm.Host.Native;

namespace Csvmm.Kvm.Tests.Support;

/// <summary>
/// Runs a <see cref="TimerGuestVm"/>'s vCPU on a thread of its own, taking its reports, until
/// <see cref="Stop"/> kicks it out of KVM_RUN the way csvmm does: kvm_run.immediate_exit set,
/// then SIGUSR1 to the thread (KVM_RUN returns EINTR; the flag covers a signal that lands while
/// the thread is between two KVM_RUNs).
/// </summary>
public sealed class BackgroundRun
{
    private const int KickSignal = 10; // SIGUSR1
    // A handler must exist, or SIGUSR1's default action would end the test process.
    private static readonly PosixSignalRegistration KickRegistration =
        PosixSignalRegistration.Create((PosixSignal)KickSignal, context => context.Cancel = true);

    private readonly TimerGuestVm _machine;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new();
    private volatile int _tid;
    private volatile int _reports;
    private Exception? _failure;

    private BackgroundRun(TimerGuestVm machine)
    {
        GC.KeepAlive(KickRegistration);
        _machine = machine;
        _thread = new Thread(Loop) { IsBackground = true, Name = "test vCPU" };
    }

    public int Reports => _reports;

    public static BackgroundRun Start(TimerGuestVm machine)
    {
        var run = new BackgroundRun(machine);
        run._thread.Start();
        run._started.Wait();
        return run;
    }

    private void Loop()
    {
        _tid = Posix.CurrentThreadId();
        _started.Set();
        try
        {
            var vcpu = _machine.Vcpu;
            while (vcpu.RunOnce())
            {
                if (vcpu.Run.ExitReason != KvmExitReason.Io || vcpu.Run.IoPort != TimerGuest.ReportPort)
                    throw new InvalidOperationException($"guest exit {vcpu.Run.ExitReason} at RIP 0x{vcpu.GetRegs().Rip:x}");
                _reports++;
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    /// <summary>Kicks the vCPU out of KVM_RUN and waits for its thread; rethrows what went wrong there.</summary>
    public void Stop()
    {
        _machine.Vcpu.Run.ImmediateExit = true;
        Posix.SignalThread(_tid, KickSignal);
        if (!_thread.Join(TimerGuestVm.ReportTimeout))
            throw new TimeoutException("the vCPU thread did not leave KVM_RUN after a kick");
        _machine.Vcpu.Run.ImmediateExit = false;
        if (_failure is not null) throw new InvalidOperationException("the vCPU thread failed", _failure);
    }
}
