using System.Runtime.InteropServices;
using Csvmm.Host.Native;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>
/// SIGINT / SIGTERM ask the VM to stop in order (vCPUs kicked, devices drained, terminal restored);
/// a second SIGINT forces the exit at once, still restoring the terminal.
/// </summary>
public sealed class SignalHandling : IDisposable
{
    private readonly PosixSignalRegistration _int;
    private readonly PosixSignalRegistration _term;
    private int _interrupts;

    public SignalHandling(VirtualMachine vm, Terminal? terminal)
    {
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            if (Interlocked.Increment(ref _interrupts) > 1)
            {
                terminal?.Restore();
                System.Console.Error.WriteLine("csvmm: second SIGINT, exiting without an orderly stop");
                Environment.Exit((int)ExitCode.Interrupted);
            }
            vm.RequestStop(new StopReason(StopKind.Interrupted, Detail: "stopped by SIGINT"));
        });
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            vm.RequestStop(new StopReason(StopKind.Terminated, Detail: "stopped by SIGTERM"));
        });
        // Restore the terminal however the process ends (an unhandled exception included).
        AppDomain.CurrentDomain.UnhandledException += (_, _) => terminal?.Restore();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => terminal?.Restore();
    }

    public void Dispose()
    {
        _int.Dispose();
        _term.Dispose();
    }
}
