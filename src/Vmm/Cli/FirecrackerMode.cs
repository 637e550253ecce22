using System.Diagnostics;
using System.Runtime.InteropServices;
using Csvmm.Vmm.Api;
using Csvmm.Vmm.Api.Http;
using Csvmm.Vmm.Config;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>
/// csvmm standing where the <c>firecracker</c> binary stands: Firecracker's command line, config
/// file and API socket (src/Vmm/Api), csvmm's VM behind them. It runs until the guest stops
/// (exit code as for <c>csvmm run</c>), or, with no VM started, until SIGTERM or SIGINT.
/// </summary>
public static class FirecrackerMode
{
    public static int Run(string[] args, Stopwatch sinceStart)
    {
        var parsed = FirecrackerCommandLine.Parse(args);
        if (parsed.HelpRequested)
        {
            System.Console.Out.WriteLine(FirecrackerCommandLine.Usage());
            return 0;
        }
        if (parsed.VersionRequested)
        {
            System.Console.Out.WriteLine(FirecrackerCommandLine.VersionText(CliApp.Version));
            return 0;
        }
        if (parsed.Error is { } error || parsed.Options is not { } options)
        {
            System.Console.Error.WriteLine($"csvmm: {parsed.Error}");
            return (int)ExitCode.Usage;
        }

        var transport = options.EnablePci ? VirtioTransportKind.Pci : VirtioTransportKind.Mmio;
        using var vm = new FirecrackerVm(options.InstanceId, transport, sinceStart);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            vm.Stop(new StopReason(StopKind.Terminated, Detail: "stopped by SIGTERM"));
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            vm.Stop(new StopReason(StopKind.Interrupted, Detail: "stopped by SIGINT"));
        });

        FirecrackerApiHost host;
        try
        {
            host = FirecrackerApiHost.Start(options, vm, CliApp.Version, vm.Log, metrics: vm);
        }
        catch (Exception e)
        {
            var (code, message) = StartFailure(e);
            System.Console.Error.WriteLine($"csvmm: {message}");
            return (int)code;
        }
        using (host)
        {
            vm.Exited.WaitOne();
            if (vm.Outcome is not { } outcome)
                return vm.Machine is null ? (int)ExitCode.Terminated : (int)ExitCode.Software;
            var (exitCode, line) = ExitCodeMap.For(outcome);
            vm.Log.Information("Guest stopped: {Detail}", outcome.Stop.Detail);
            if (line is not null) System.Console.Error.WriteLine($"csvmm: {line}");
            return exitCode;
        }
    }

    /// <summary>
    /// Exit codes for a start that failed: a bad or unreadable config file (65/66), a socket in use
    /// (75), and for a VM that could not start, the code csvmm gives that cause.
    /// </summary>
    private static (ExitCode Code, string Message) StartFailure(Exception e) => e switch
    {
        FirecrackerConfigException c => (c.Unreadable ? ExitCode.NoInput : ExitCode.BadInput, e.Message),
        ApiSocketException => (ExitCode.Busy, e.Message),
        FaultException { InnerException: { } inner } => (ExitCodeMap.ForException(inner).Code, e.Message),
        FaultException => (ExitCode.BadInput, e.Message),
        _ => ExitCodeMap.ForException(e),
    };
}
