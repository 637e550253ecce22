using System.Diagnostics;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Kvm;
using Csvmm.Vmm.Api.Metrics;
using Csvmm.Vmm.Builder;
using Csvmm.Vmm.Config;
using Csvmm.Vmm.Machine;
using Csvmm.Vmm.Snapshot;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Csvmm.Vmm.Api;

/// <summary>
/// csvmm's VM behind Firecracker's API: InstanceStart turns the Firecracker-shaped
/// <see cref="MicroVmSpec"/> into a <see cref="VmConfig"/>, checks it like any other, builds the VM
/// with <see cref="VmBuilder"/> and runs it on a thread of its own; pause, resume and Ctrl+Alt+Del
/// go to the running <see cref="VirtualMachine"/>; metrics are read from its counters. It also owns
/// the logger, whose level and destination PUT /logger can change while csvmm runs.
/// </summary>
public sealed class FirecrackerVm : IVmLifecycle, IMetricsSource, IDisposable
{
    /// <summary>How long PATCH /vm Paused may take to park every vCPU and device thread.</summary>
    public static readonly TimeSpan PauseTimeout = TimeSpan.FromSeconds(10);

    private readonly Stopwatch _sinceStart;
    private readonly string _instanceId;
    private readonly VirtioTransportKind _transport;
    private readonly LoggingLevelSwitch _level = new(LogEventLevel.Information);
    private readonly SwitchableSink _sink;
    private readonly Logger _logger;
    private readonly ManualResetEventSlim _exited = new();
    private readonly List<MetricGroup> _groups = [];
    private ConsoleOutput? _console;
    private VirtualMachine? _vm;
    private Thread? _runThread;
    private RunOutcome? _outcome;
    private IReadOnlyList<string> _driveIds = [];
    private IReadOnlyList<string> _ifaceIds = [];

    public FirecrackerVm(string instanceId, VirtioTransportKind transport, Stopwatch sinceStart)
    {
        _instanceId = instanceId;
        _transport = transport;
        _sinceStart = sinceStart;
        _sink = new SwitchableSink(ConsoleSink());
        _logger = new LoggerConfiguration().MinimumLevel.ControlledBy(_level)
            .WriteTo.Async(a => a.Sink(_sink), bufferSize: 10_000, blockWhenFull: false).CreateLogger();
    }

    public ILogger Log => _logger;

    /// <summary>The VM, once InstanceStart built it.</summary>
    public VirtualMachine? Machine => Volatile.Read(ref _vm);

    /// <summary>Set when the VM stopped, or when <see cref="Stop"/> was called without one.</summary>
    public WaitHandle Exited => _exited.WaitHandle;

    /// <summary>How the VM ended (null if it never started).</summary>
    public RunOutcome? Outcome => _outcome;

    public void Start(MicroVmSpec spec)
    {
        var config = ToConfig(spec);
        Launch(config, spec.Disks.Select(d => d.DriveId).ToList(), spec.Nets.Select(n => n.IfaceId).ToList());
    }

    /// <summary>
    /// PUT /snapshot/load: the VM the snapshot holds, its disks the images it names, its interfaces
    /// on the snapshot's TAPs unless <paramref name="tapOverrides"/> (by iface_id) names others;
    /// running, or paused until PATCH /vm Resumed when <paramref name="resume"/> is false.
    /// </summary>
    public SnapshotShape LoadSnapshot(string statePath, string memoryPath, bool resume, IReadOnlyDictionary<string, string> tapOverrides)
    {
        var snapshot = SnapshotFile.Read(statePath, Cli.CliApp.Version);
        foreach (string iface in tapOverrides.Keys)
            if (!snapshot.Nets.Any(n => n.Name == iface))
                throw new InvalidOperationException($"the snapshot has no network interface `{iface}`");
        var taps = snapshot.Nets.Select(n => n.Name is { } id && tapOverrides.TryGetValue(id, out var tap) ? tap : n.Tap).ToList();
        var config = RestoreConfig.For(new SnapshotSource(statePath, memoryPath), snapshot, disks: null, taps) with
        {
            Console = ConsoleSpec.Stdio,
            StartPaused = !resume,
        };
        Launch(config,
            snapshot.Disks.Select((d, i) => d.Name ?? $"drive{i}").ToList(),
            snapshot.Nets.Select((n, i) => n.Name ?? $"net{i}").ToList());
        return new SnapshotShape(snapshot.Cpus, snapshot.MemoryMiB);
    }

    /// <summary>PUT /snapshot/create on a paused VM: its devices quiesced, the state and memory files written.</summary>
    public void CreateSnapshot(string statePath, string memoryPath)
    {
        var vm = RequireVm();
        // Already paused (the controller checks); pausing again quiesces the devices for the snapshot.
        if (!vm.Pause(PauseTimeout, quiesce: true))
            throw new InvalidOperationException($"the device threads did not quiesce within {PauseTimeout.TotalSeconds} s");
        vm.SaveSnapshot(statePath, memoryPath);
    }

    private void Launch(VmConfig config, IReadOnlyList<string> driveIds, IReadOnlyList<string> ifaceIds)
    {
        if (_vm is not null) throw new InvalidOperationException("the microVM is already running");
        VmConfigValidator.Validate(config, HostLimits.Read(config.KvmDevice));
        _console = ConsoleOutput.Stdout();
        VirtualMachine vm;
        try
        {
            vm = VmBuilder.Build(config, _logger, _console, _sinceStart);
        }
        catch
        {
            _console.Dispose();
            _console = null;
            throw;
        }
        _driveIds = driveIds;
        _ifaceIds = ifaceIds;
        Volatile.Write(ref _vm, vm);
        _runThread = new Thread(() =>
        {
            _outcome = vm.Run();
            _exited.Set();
        }) { Name = "vmm", IsBackground = true };
        _runThread.Start();
        vm.WaitStarted(TimeSpan.FromSeconds(30));
        new Cli.ConsoleInput(vm).Start();
    }

    /// <summary>Firecracker's configuration in csvmm's terms: boot_args replaces the base command line, the root drive is named by its flag.</summary>
    public VmConfig ToConfig(MicroVmSpec spec) => new()
    {
        KernelPath = spec.KernelPath,
        InitrdPath = spec.InitrdPath,
        Cmdline = spec.Cmdline,
        CmdlineReplacesBase = spec.CmdlineReplacesBase,
        RootArgument = spec.RootArgument ?? "",
        MemoryMiB = spec.MemoryMiB,
        Cpus = spec.Vcpus,
        Disks = spec.Disks.Select(d => new DiskConfig(d.Path, d.ReadOnly) { Name = d.DriveId }).ToList(),
        Nets = spec.Nets.Select(n => new NetConfig(n.Tap, n.Mac) { Name = n.IfaceId }).ToList(),
        Transport = _transport,
        Console = ConsoleSpec.Stdio,
    };

    public void Pause()
    {
        var vm = RequireVm();
        if (!vm.Pause(PauseTimeout))
            throw new InvalidOperationException($"the vCPUs or device threads did not park within {PauseTimeout.TotalSeconds} s");
    }

    public void Resume() => RequireVm().Resume();

    public void SendCtrlAltDel()
    {
        if (!RequireVm().SendCtrlAltDel())
            throw new InvalidOperationException("i8042 internal buffer full");
    }

    public void UpdateDrivePath(string driveId, string pathOnHost) =>
        throw new NotSupportedException($"csvmm cannot replace the backing file of the running drive {driveId}");

    public void ConfigureLogger(LoggerSettings settings)
    {
        _level.MinimumLevel = settings.Level ?? LogEventLevel.Fatal;
        _sink.Target = settings.Output is { } output
            ? new FirecrackerLogSink(output, _instanceId, settings.ShowLevel, settings.ShowLogOrigin)
            : settings.Level is null ? new NullSink() : ConsoleSink();
    }

    /// <summary>Stops the VM (SIGTERM, SIGINT); without one, ends the wait at once.</summary>
    public void Stop(StopReason reason)
    {
        if (Volatile.Read(ref _vm) is { } vm) vm.RequestStop(reason);
        else _exited.Set();
    }

    public void Collect(List<MetricGroup> groups)
    {
        if (Volatile.Read(ref _vm) is not { } vm) return;
        lock (_groups)
        {
            if (_groups.Count == 0) CreateGroups(vm);
            int disk = 0, net = 0, g = 0;
            foreach (var d in vm.VirtioDevices)
            {
                var queues = d.Transport.QueueCounters;
                if (d.DeviceCounters is BlockCounters blk && disk++ < _driveIds.Count)
                    BlockDeviceMetrics.Fill(_groups[g++], blk, queues[0]);
                else if (d.DeviceCounters is NetCounters nc && net++ < _ifaceIds.Count)
                    NetDeviceMetrics.Fill(_groups[g++], nc, queues[NetProtocol.RxQueue], queues[NetProtocol.TxQueue]);
            }
            var vcpu = _groups[g];
            vcpu.Set("failures", vm.CurrentExits()[KvmExitReason.InternalError]);
            groups.AddRange(_groups);
        }
    }

    private void CreateGroups(VirtualMachine vm)
    {
        int disk = 0, net = 0;
        foreach (var d in vm.VirtioDevices)
        {
            if (d.DeviceCounters is BlockCounters && disk < _driveIds.Count) _groups.Add(BlockDeviceMetrics.Create(_driveIds[disk++]));
            else if (d.DeviceCounters is NetCounters && net < _ifaceIds.Count) _groups.Add(NetDeviceMetrics.Create(_ifaceIds[net++]));
        }
        _groups.Add(VcpuMetrics.Create());
    }

    private VirtualMachine RequireVm() =>
        Volatile.Read(ref _vm) ?? throw new InvalidOperationException("the microVM is not running");

    private static ILogEventSink ConsoleSink() =>
        new LoggerConfiguration().MinimumLevel.Verbose()
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}\n{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose)
            .CreateLogger();

    public void Dispose()
    {
        if (_runThread is { } t && _vm is { } vm)
        {
            vm.RequestStop(new StopReason(StopKind.Terminated, Detail: "csvmm is exiting"));
            t.Join();
            vm.Dispose();
        }
        _console?.Dispose();
        _logger.Dispose();
        _exited.Dispose();
    }

    /// <summary>A sink whose destination PUT /logger can replace while events flow.</summary>
    private sealed class SwitchableSink(ILogEventSink target) : ILogEventSink
    {
        private ILogEventSink _target = target;

        public ILogEventSink Target
        {
            get => Volatile.Read(ref _target);
            set => Volatile.Write(ref _target, value);
        }

        public void Emit(LogEvent logEvent) => Target.Emit(logEvent);
    }

    private sealed class NullSink : ILogEventSink
    {
        public void Emit(LogEvent logEvent) { }
    }
}
