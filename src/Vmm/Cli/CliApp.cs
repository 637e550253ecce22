using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using CommandLine;
using CommandLine.Text;
using Csvmm.Kvm;
using Csvmm.Host.Native;
using Csvmm.Vmm.Boot;
using Csvmm.Vmm.Machine;
using Serilog;
using Serilog.Events;

namespace Csvmm.Vmm.Cli;

/// <summary>
/// Parses arguments, runs the VM and maps every outcome to one line on stderr and an
/// <see cref="ExitCode"/>. This is the only place exceptions are caught and printed.
/// </summary>
public static class CliApp
{
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    [DynamicDependency(DynamicallyAccessedMemberTypes.All, typeof(RunOptions))]
    public static int Run(string[] args)
    {
        var sinceStart = Stopwatch.StartNew();
        if (args.Length == 1 && args[0] is "--version" or "version")
        {
            System.Console.Out.WriteLine($"csvmm {Version}");
            return 0;
        }

        using var parser = new Parser(s =>
        {
            s.HelpWriter = null;
            s.CaseSensitive = true;
            s.AutoVersion = false;
            s.AllowMultiInstance = true; // --disk and --net repeat
        });
        var result = parser.ParseArguments(args, typeof(RunOptions));
        if (result is NotParsed<object> notParsed)
            return ReportParseErrors(result, notParsed.Errors);

        return RunVm((RunOptions)((Parsed<object>)result).Value, sinceStart);
    }

    private static int ReportParseErrors(ParserResult<object> result, IEnumerable<Error> errors)
    {
        var list = errors.ToList();
        if (list.Any(e => e is HelpRequestedError or HelpVerbRequestedError or NoVerbSelectedError))
        {
            bool asked = list.Any(e => e is HelpRequestedError or HelpVerbRequestedError);
            var help = HelpText.AutoBuild(result, h =>
            {
                h.Heading = $"csvmm {Version} - a microVM monitor on Linux KVM";
                h.Copyright = "Usage: csvmm run --kernel PATH [--initrd PATH] [--disk PATH[,ro]]... [options]";
                h.AddDashesToOption = true;
                h.AdditionalNewLineAfterOption = false;
                return h;
            }, e => e, verbsIndex: true);
            (asked ? System.Console.Out : System.Console.Error).WriteLine(help);
            return asked ? 0 : (int)ExitCode.Usage;
        }
        System.Console.Error.WriteLine($"csvmm: {Describe(list[0])} (see 'csvmm run --help')");
        return (int)ExitCode.Usage;
    }

    private static string Describe(Error e) => e switch
    {
        MissingRequiredOptionError m => $"missing required option --{m.NameInfo.LongName}",
        UnknownOptionError u => $"unknown option '{u.Token}'",
        BadFormatConversionError b => $"invalid value for --{b.NameInfo.LongName}",
        BadVerbSelectedError v => $"unknown command '{v.Token}'",
        MissingValueOptionError mv => $"option --{mv.NameInfo.LongName} needs a value",
        RepeatedOptionError r => $"option --{r.NameInfo.LongName} given twice",
        _ => $"invalid arguments ({e.Tag})",
    };

    private static int RunVm(RunOptions o, Stopwatch sinceStart)
    {
        Terminal? terminal = null;
        ILogger log = Serilog.Core.Logger.None;
        try
        {
            var run = Resolve(o);
            var level = ParseLevel(run.LogLevel);
            var (consoleKind, consolePath) = ConsoleSpec.Parse(run.Console);
            var config = run.Config;

            bool rawTty = consoleKind == ConsoleKind.Stdio && Posix.IsTerminal(Posix.StdinFd);
            var logConfig = new LoggerConfiguration().MinimumLevel.Is(level ?? LogEventLevel.Fatal);
            if (level is not null)
                logConfig = logConfig.WriteTo.Console(
                    outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}" + (rawTty ? "\r\n" : "\n") + "{Exception}",
                    standardErrorFromLevel: LogEventLevel.Verbose);
            var logger = logConfig.CreateLogger();
            log = logger;
            if (config.Cpus > Environment.ProcessorCount)
                log.Warning("--cpus {Cpus} is more than this host's {Cores} CPUs: vCPUs will share cores", config.Cpus, Environment.ProcessorCount);

            using var console = consoleKind switch
            {
                ConsoleKind.File => ConsoleOutput.ToFile(consolePath!),
                ConsoleKind.None => ConsoleOutput.None(),
                _ => ConsoleOutput.Stdout(),
            };

            using var vm = VirtualMachine.Create(config, log, console, sinceStart);
            if (rawTty) terminal = Terminal.TryEnterRawMode(Posix.StdinFd);
            using var signals = new SignalHandling(vm, terminal);
            if (consoleKind == ConsoleKind.Stdio)
                new ConsoleInput(vm).Start();

            var stop = vm.Run();
            terminal?.Restore();
            LogSummary(log, vm, stop);
            if (run.StatsPath is { } statsPath)
                RunStatistics.Write(statsPath, vm, stop, sinceStart.Elapsed);
            var code = ExitCodes.For(stop);
            if (code is not ExitCode.GuestShutdown && stop.Kind != StopKind.GuestExitStatus)
                System.Console.Error.WriteLine($"csvmm: {stop.Detail}");
            logger.Dispose();
            return stop.Kind == StopKind.GuestExitStatus ? stop.GuestStatus : (int)code;
        }
        catch (Exception e)
        {
            terminal?.Restore();
            var (code, message) = ExitCodes.ForException(e);
            System.Console.Error.WriteLine($"csvmm: {message}");
            if (code == ExitCode.Software) log.Debug(e, "internal error");
            return (int)code;
        }
        finally
        {
            terminal?.Restore();
        }
    }

    /// <summary>The effective settings: built-in defaults, then the --config file, then flags.</summary>
    internal sealed record ResolvedRun(VmConfig Config, string LogLevel, string Console, string? StatsPath);

    internal static ResolvedRun Resolve(RunOptions o)
    {
        var file = o.Config is { } cf ? VmConfigFile.Load(cf) : null;
        var disks = o.Disks.Any() ? o.Disks.ToList() : file?.Disks ?? [];
        var nets = o.Nets.Any() ? o.Nets.ToList() : file?.Nets ?? [];
        string kernel = o.Kernel ?? file?.Kernel
            ?? throw new UsageException("missing --kernel (or \"kernel\" in the --config file)");
        var config = BuildConfig(
            kernel,
            o.Initrd ?? file?.Initrd,
            o.Cmdline ?? file?.Cmdline,
            o.Memory ?? file?.Memory ?? VmConfig.DefaultMemoryMiB,
            o.Cpus ?? file?.Cpus ?? 1,
            disks,
            o.Timeout ?? file?.Timeout ?? 0,
            o.KvmDevice) with { Nets = nets.Select(NetSpec.Parse).ToList() };
        return new ResolvedRun(config, o.LogLevel ?? file?.LogLevel ?? "info", o.Console ?? file?.Console ?? "stdio", o.Stats ?? file?.Stats);
    }

    private static void LogSummary(ILogger log, VirtualMachine vm, StopReason stop)
    {
        log.Information("Guest stopped: {Detail}", stop.Detail);
        if (log.IsEnabled(LogEventLevel.Debug))
        {
            foreach (var (reason, count) in vm.Exits.Snapshot())
                log.Debug("vCPU exits {Reason}: {Count}", reason, count);
            log.Debug("Unclaimed PIO reads/writes {R}/{W}, MMIO {MR}/{MW}",
                vm.PioBus.UnclaimedReads, vm.PioBus.UnclaimedWrites, vm.MmioBus.UnclaimedReads, vm.MmioBus.UnclaimedWrites);
            log.Debug("Serial: {Tx} bytes out, {Rx} bytes in, {Irq} interrupts",
                vm.Serial.BytesTransmitted, vm.Serial.BytesReceived, vm.Serial.InterruptsRaised);
            foreach (var net in vm.NetDevices)
            {
                log.Debug("{Name} (tap {Tap}, {Mac}): {Counters}", net.GuestName, net.Tap, net.Mac.ToString(), net.Device.Counters.ToString());
                for (int q = 0; q < net.Transport.QueueCount; q++)
                    log.Debug("{Name} queue {Queue}: {Counters}", net.GuestName, q, net.Transport.Queues[q].Counters.ToString());
            }
            foreach (var blk in vm.BlockDevices)
            {
                log.Debug("{Name} ({Path}): {Counters}", blk.GuestName, blk.Path, blk.Device.Counters.ToString());
                for (int q = 0; q < blk.Transport.QueueCount; q++)
                    log.Debug("{Name} queue {Queue}: {Counters}", blk.GuestName, q, blk.Transport.Queues[q].Counters.ToString());
            }
        }
    }

    internal static LogEventLevel? ParseLevel(string s) => s.ToLowerInvariant() switch
    {
        "trace" or "verbose" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "info" or "information" => LogEventLevel.Information,
        "warn" or "warning" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        "off" or "none" => null,
        _ => throw new UsageException($"--log-level '{s}': expected trace, debug, info, warning, error or off"),
    };

    internal static VmConfig BuildConfig(string kernel, string? initrd, string? cmdline, int memory, int cpus,
        IReadOnlyList<string> disks, double timeout, string kvmDevice)
    {
        if (memory < VmConfig.MinimumMemoryMiB)
            throw new UsageException($"--memory {memory}: at least {VmConfig.MinimumMemoryMiB} MiB is needed");
        long hostMiB = HostMemoryMiB();
        if (hostMiB > 0 && memory > hostMiB)
            throw new UsageException($"--memory {memory}: more than this host's {hostMiB} MiB of RAM");
        if (cpus < 1)
            throw new UsageException($"--cpus {cpus}: at least 1 vCPU is needed");
        if (cpus > Arch.X86_64.MpTable.MaxCpus)
            throw new UsageException($"--cpus {cpus}: csvmm supports at most {Arch.X86_64.MpTable.MaxCpus} vCPUs");
        if (timeout < 0 || double.IsNaN(timeout))
            throw new UsageException($"--timeout {timeout}: must be 0 (none) or a positive number of seconds");
        return new VmConfig
        {
            KernelPath = kernel,
            InitrdPath = initrd,
            Cmdline = cmdline,
            MemoryMiB = memory,
            Cpus = cpus,
            Disks = disks.Select(DiskSpec.Parse).ToList(),
            KvmDevice = kvmDevice,
            TimeoutSeconds = timeout,
        };
    }

    private static long HostMemoryMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
