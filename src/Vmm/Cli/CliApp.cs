using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using CommandLine;
using CommandLine.Text;
using Csvmm.Kvm;
using Csvmm.Host.Native;
using Csvmm.Vmm.Api;
using Csvmm.Vmm.Builder;
using Csvmm.Vmm.Config;
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
    [DynamicDependency(DynamicallyAccessedMemberTypes.All, typeof(RestoreOptions))]
    public static int Run(string[] args)
    {
        var sinceStart = Stopwatch.StartNew();
        // argv[0], not the resolved process path: a symlink named firecracker keeps its name.
        if (FirecrackerCommandLine.TryGetFirecrackerArguments(Environment.GetCommandLineArgs()[0], args, out var firecrackerArgs))
            return FirecrackerMode.Run(firecrackerArgs, sinceStart);
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
        var result = parser.ParseArguments(args, typeof(RunOptions), typeof(RestoreOptions));
        if (result is NotParsed<object> notParsed)
            return ReportParseErrors(result, notParsed.Errors);

        return ((Parsed<object>)result).Value switch
        {
            RestoreOptions restore => RunVm(() => ResolveRestore(restore), sinceStart),
            var run => RunVm(() => Resolve((RunOptions)run), sinceStart),
        };
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

    private static int RunVm(Func<VmConfig> resolve, Stopwatch sinceStart)
    {
        Terminal? terminal = null;
        Serilog.Core.Logger? logger = null;
        ILogger log = Serilog.Core.Logger.None;
        try
        {
            var config = resolve();
            var level = ParseLevel(config.LogLevel);
            VmConfigValidator.Validate(config, HostLimits.Read(config.KvmDevice));

            bool rawTty = config.Console.Kind == ConsoleKind.Stdio && Posix.IsTerminal(Posix.StdinFd);
            logger = CreateLogger(level, rawTty);
            log = logger;
            if (config.Cpus > Environment.ProcessorCount)
                log.Warning("--cpus {Cpus} is more than this host's {Cores} CPUs: vCPUs will share cores", config.Cpus, Environment.ProcessorCount);

            using var console = config.Console.Kind switch
            {
                ConsoleKind.File => ConsoleOutput.ToFile(config.Console.Path!),
                ConsoleKind.None => ConsoleOutput.None(),
                _ => ConsoleOutput.Stdout(),
            };

            using var vm = VmBuilder.Build(config, log, console, sinceStart);
            if (rawTty) terminal = Terminal.TryEnterRawMode(Posix.StdinFd);
            using var signals = new SignalHandling(vm, terminal);
            if (config.Console.Kind == ConsoleKind.Stdio)
                new ConsoleInput(vm).Start();

            var outcome = vm.Run();
            terminal?.Restore();
            var (code, message) = ExitCodeMap.For(outcome);
            LogSummary(log, vm, outcome);
            if (config.StatsPath is { } statsPath)
                RunStatistics.Write(statsPath, vm, outcome, code, sinceStart.Elapsed);
            if (message is not null)
                System.Console.Error.WriteLine($"csvmm: {message}");
            return code;
        }
        catch (Exception e)
        {
            terminal?.Restore();
            var (code, message) = ExitCodeMap.ForException(e);
            System.Console.Error.WriteLine($"csvmm: {message}");
            if (code == ExitCode.Software) log.Debug(e, "internal error");
            return (int)code;
        }
        finally
        {
            terminal?.Restore();
            // Flushes the asynchronous sink: every line logged so far reaches stderr.
            logger?.Dispose();
        }
    }

    /// <summary>
    /// Serilog to stderr through a bounded asynchronous buffer: a thread that logs never waits for
    /// the terminal, and when the buffer is full events are dropped rather than blocking a vCPU or
    /// a device thread.
    /// </summary>
    private static Serilog.Core.Logger CreateLogger(LogEventLevel? level, bool rawTty)
    {
        var logConfig = new LoggerConfiguration().MinimumLevel.Is(level ?? LogEventLevel.Fatal);
        if (level is not null)
            logConfig = logConfig.WriteTo.Async(a => a.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}" + (rawTty ? "\r\n" : "\n") + "{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose), bufferSize: 10_000, blockWhenFull: false);
        return logConfig.CreateLogger();
    }

    /// <summary>The effective settings: built-in defaults, then the --config file, then flags.</summary>
    internal static VmConfig Resolve(RunOptions o)
    {
        var file = o.Config is { } cf ? VmConfigFile.Load(cf) : null;
        string kernel = o.Kernel ?? file?.Kernel
            ?? throw new UsageException("missing --kernel (or \"kernel\" in the --config file)");
        return new VmConfig
        {
            KernelPath = kernel,
            InitrdPath = o.Initrd ?? file?.Initrd,
            Cmdline = o.Cmdline ?? file?.Cmdline,
            MemoryMiB = o.Memory ?? file?.Memory ?? VmConfig.DefaultMemoryMiB,
            Cpus = o.Cpus ?? file?.Cpus ?? 1,
            Disks = o.Disks.Any() ? o.Disks.Select(DiskSpec.Parse).ToList() : file?.Disks ?? [],
            Nets = o.Nets.Any() ? o.Nets.Select(NetSpec.Parse).ToList() : file?.Nets ?? [],
            TimeoutSeconds = o.Timeout ?? file?.Timeout ?? 0,
            KvmDevice = o.KvmDevice,
            Transport = TransportSpec.Parse(o.Transport ?? file?.Transport ?? "pci"),
            Console = ConsoleSpec.Parse(o.Console ?? file?.Console ?? "stdio"),
            LogLevel = o.LogLevel ?? file?.LogLevel ?? "info",
            StatsPath = o.Stats ?? file?.Stats,
            SnapshotTo = o.SnapshotTo,
        };
    }

    /// <summary>
    /// <c>csvmm restore</c>: the machine comes from the snapshot (memory, vCPUs, transport, devices
    /// and their state); disks and TAPs may be named anew, one for each the snapshot has, and each
    /// disk must have the size the snapshot's had.
    /// </summary>
    internal static VmConfig ResolveRestore(RestoreOptions o)
    {
        var source = SnapshotSource.InDirectory(o.From);
        var snapshot = Snapshot.SnapshotFile.Read(source.StatePath, Version);
        var disks = o.Disks.Any() ? o.Disks.Select(DiskSpec.Parse).ToList() : null;
        var taps = o.Nets.Any() ? o.Nets.Select(n => NetSpec.Parse(n).Tap).ToList() : null;
        return Snapshot.RestoreConfig.For(source, snapshot, disks, taps) with
        {
            TimeoutSeconds = o.Timeout ?? 0,
            KvmDevice = o.KvmDevice,
            Console = ConsoleSpec.Parse(o.Console ?? "stdio"),
            LogLevel = o.LogLevel ?? "info",
            StatsPath = o.Stats,
            SnapshotTo = o.SnapshotTo,
        };
    }

    private static void LogSummary(ILogger log, VirtualMachine vm, RunOutcome outcome)
    {
        log.Information("Guest stopped: {Detail}", outcome.Stop.Detail);
        if (!log.IsEnabled(LogEventLevel.Debug)) return;
        foreach (var (reason, count) in vm.Exits.Snapshot())
            log.Debug("vCPU exits {Reason}: {Count}", reason, count);
        log.Debug("Unclaimed PIO reads/writes {R}/{W}, MMIO {MR}/{MW}",
            vm.PioBus.UnclaimedReads, vm.PioBus.UnclaimedWrites, vm.MmioBus.UnclaimedReads, vm.MmioBus.UnclaimedWrites);
        log.Debug("Serial: {Tx} bytes out, {Rx} bytes in, {Irq} interrupts",
            vm.Serial.BytesTransmitted, vm.Serial.BytesReceived, vm.Serial.InterruptsRaised);
        foreach (var d in vm.VirtioDevices)
        {
            log.Debug("{Name} ({Labels}): {Counters} {Transport}", d.GuestName,
                string.Join(", ", d.Labels.Select(l => $"{l.Key} {l.Value}")), d.DeviceCounters.ToString(),
                string.Join(' ', d.TransportCounters.Prepend(d.Transport.Counters).Select(c => c.ToString())));
            for (int q = 0; q < d.Transport.QueueCount; q++)
                log.Debug("{Name} queue {Queue}: {Counters}", d.GuestName, q, d.Transport.QueueCounters[q].ToString());
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
}
