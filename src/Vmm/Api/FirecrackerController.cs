using Csvmm.Vmm.Config;
using System.Diagnostics;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Host.Native;
using Csvmm.Vmm.Api.Metrics;
using Csvmm.Vmm.Api.Models;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Api;

/// <summary>
/// The Firecracker-shaped configuration and the instance state machine behind the API and the
/// config file, as Firecracker's PrebootApiController and RuntimeApiController divide the work
/// (src/vmm/src/rpc_interface.rs): before InstanceStart, requests build up and validate the
/// configuration; InstanceStart turns it into a <see cref="MicroVmSpec"/> and hands it to
/// <see cref="IVmLifecycle.Start"/>; afterwards only runtime requests are accepted.
/// <code>
///   Not started --InstanceStart--> Running --PATCH /vm Paused--> Paused --PATCH /vm Resumed--> Running
/// </code>
/// Firecracker's rules and messages are kept; what csvmm cannot honour (SMT, dirty-page tracking,
/// CPU templates, huge pages, rate limiters, vhost-user drives, an MTU, io_engine Async) is
/// refused with a message naming the key. Every method takes one lock, so a config-file start on
/// the main thread and API requests cannot interleave; a request arriving during InstanceStart
/// waits for it and then sees the new state.
/// </summary>
public sealed class FirecrackerController : IMicroVmControl, IDisposable
{
    /// <summary>MAX_SUPPORTED_VCPUS in src/vmm/src/vmm_config/machine_config.rs.</summary>
    public const int MaxVcpus = 32;

    public const string NotSupportedPostBoot = "The requested operation is not supported after starting the microVM.";
    public const string NotSupportedPreBoot = "The requested operation is not supported before starting the microVM.";

    private static readonly string[] StaticCpuTemplates = ["C3", "T2", "T2S", "T2CL", "T2A", "V1N1"];

    private readonly IVmLifecycle _vm;
    private readonly Lock _lock = new();
    private readonly List<DriveConfig> _drives = [];
    private readonly List<NetworkInterfaceConfig> _nets = [];
    private readonly List<NonBlockingLineFile> _logOutputs = [];
    private MachineConfig _machine = DefaultMachine();
    private BootSourceConfig? _bootSource;
    private LoggerSettings _logger = new();
    private FirecrackerMetricsWriter? _metrics;
    private VmState _state = VmState.NotStarted;

    // PrebootApiController.boot_path in src/vmm/src/rpc_interface.rs: set by the first request that
    // configures a VM to boot (machine, boot source, drives, interfaces); a snapshot load is then refused.
    private bool _bootPath;

    public FirecrackerController(IVmLifecycle vm, string instanceId, string vmmVersion, ApiMetrics? apiMetrics = null)
    {
        _vm = vm;
        InstanceId = instanceId;
        VmmVersion = vmmVersion;
        ApiMetrics = apiMetrics ?? new ApiMetrics();
    }

    public string InstanceId { get; }

    public string VmmVersion { get; }

    public ApiMetrics ApiMetrics { get; }

    /// <summary>The running VM's counters for the metrics lines; set it before InstanceStart.</summary>
    public IMetricsSource? MetricsSource { get; set; }

    public VmState State
    {
        get { lock (_lock) return _state; }
    }

    /// <summary>The metrics writer once PUT /metrics (or --metrics-path) configured one.</summary>
    public FirecrackerMetricsWriter? Metrics
    {
        get { lock (_lock) return _metrics; }
    }

    public InstanceInfo GetInstanceInfo()
    {
        lock (_lock)
            return new InstanceInfo { Id = InstanceId, State = _state.ToApiString(), VmmVersion = VmmVersion, AppName = "csvmm" };
    }

    public string GetVersion() => FirecrackerVersions.ApiVersion;

    public MachineConfig GetMachineConfig()
    {
        lock (_lock) return _machine.Clone();
    }

    public FullVmConfiguration GetFullConfig()
    {
        lock (_lock)
        {
            // As Firecracker's From<&VmResources> for VmmConfig: logger and metrics are not reported.
            return new FullVmConfiguration
            {
                BootSource = _bootSource ?? new BootSourceConfig(),
                Drives = [.. _drives],
                MachineConfig = _machine.Clone(),
                NetworkInterfaces = [.. _nets],
            };
        }
    }

    public void PutMachineConfig(MachineConfig config)
    {
        // A PUT sets every key; the optional ones it leaves out go back to their defaults.
        ApplyMachine(new MachineConfigUpdate
        {
            VcpuCount = config.VcpuCount,
            MemSizeMib = config.MemSizeMib,
            Smt = config.Smt ?? false,
            CpuTemplate = config.CpuTemplate,
            TrackDirtyPages = config.TrackDirtyPages ?? false,
            HugePages = config.HugePages ?? "None",
        });
    }

    public void PatchMachineConfig(MachineConfigUpdate update)
    {
        if (update.IsEmpty) throw new FaultException("Empty PATCH request.");
        ApplyMachine(update);
    }

    private void ApplyMachine(MachineConfigUpdate u)
    {
        lock (_lock)
        {
            RequireNotStarted();
            int vcpus = u.VcpuCount ?? _machine.VcpuCount;
            bool smt = u.Smt ?? _machine.Smt ?? false;
            if (vcpus < 1 || vcpus > MaxVcpus || (smt && vcpus > 1 && vcpus % 2 == 1))
                throw MachineError($"The number of vCPUs must be greater than 0, less than {MaxVcpus} and must be 1 or an even number if SMT is enabled.");

            long memory = u.MemSizeMib ?? _machine.MemSizeMib;
            string hugePages = u.HugePages ?? _machine.HugePages ?? "None";
            if (hugePages is not ("None" or "Transparent" or "2M"))
                throw new JsonBodyException($"unknown variant `{hugePages}`, expected one of `None`, `Transparent`, `2M` at `huge_pages`");
            if (memory <= 0 || (hugePages != "None" && memory % 2 != 0))
                throw MachineError("The memory size (MiB) is either 0, or not a multiple of the configured page size.");

            string? template = u.CpuTemplate ?? _machine.CpuTemplate;
            if (template is not null && template != "None" && Array.IndexOf(StaticCpuTemplates, template) < 0)
                throw new JsonBodyException($"unknown variant `{template}`, expected one of `C3`, `T2`, `T2S`, `T2CL`, `T2A`, `V1N1`, `None` at `cpu_template`");

            bool trackDirty = u.TrackDirtyPages ?? _machine.TrackDirtyPages ?? false;
            if (smt)
                throw MachineError("`smt` true cannot be honoured: csvmm gives guests one thread per core (set it to false).");
            if (trackDirty)
                throw MachineError("`track_dirty_pages` true cannot be honoured: csvmm makes full snapshots only and tracks no dirty pages.");
            if (template is not null && template != "None")
                throw MachineError($"`cpu_template` {template} cannot be honoured: csvmm has no CPU templates (use None).");
            if (hugePages != "None")
                throw MachineError($"`huge_pages` {hugePages} cannot be honoured: csvmm backs guest memory with normal pages (use None).");
            if (memory < VmConfig.MinimumMemoryMiB)
                throw MachineError($"`mem_size_mib` {memory}: csvmm needs at least {VmConfig.MinimumMemoryMiB} MiB of guest memory.");
            if (memory > int.MaxValue)
                throw MachineError($"`mem_size_mib` {memory} is too large.");

            _machine = new MachineConfig
            {
                VcpuCount = vcpus,
                MemSizeMib = memory,
                Smt = false,
                TrackDirtyPages = false,
                HugePages = "None",
            };
            _bootPath = true;
        }
    }

    public void PutBootSource(BootSourceConfig config)
    {
        lock (_lock)
        {
            RequireNotStarted();
            if (CheckFile(config.KernelImagePath, writable: false) is { } kernelError)
                throw new FaultException($"Boot source error: The kernel file cannot be opened: {kernelError}");
            if (config.InitrdPath is { } initrd && CheckFile(initrd, writable: false) is { } initrdError)
                throw new FaultException($"Boot source error: The initrd file cannot be opened due to invalid path or invalid permissions. {initrdError}");
            if (config.BootArgs is { } args)
            {
                foreach (char c in args)
                    if (c is < ' ' or > '~')
                        throw new FaultException("Boot source error: The kernel command line is invalid: String contains a non-printable ASCII character");
                if ((ulong)args.Length >= Arch.X86_64.Layout.CmdlineMaxSize)
                    throw new FaultException("Boot source error: The kernel command line is invalid: Command line string too large");
            }
            _bootSource = new BootSourceConfig { KernelImagePath = config.KernelImagePath, InitrdPath = config.InitrdPath, BootArgs = config.BootArgs };
            _bootPath = true;
        }
    }

    public void PutDrive(DriveConfig config)
    {
        lock (_lock)
        {
            RequireNotStarted();
            if (config.Socket is not null)
                throw new FaultException("Drive config error: `socket` cannot be honoured: csvmm has no vhost-user-block backend (give path_on_host).");
            if (config.PathOnHost is not { } path)
                throw new FaultException("Drive config error: Unable to create the virtio block device: Invalid block config.");
            if (config.CacheType is not (null or "Unsafe" or "Writeback"))
                throw new JsonBodyException($"unknown variant `{config.CacheType}`, expected `Unsafe` or `Writeback` at `cache_type`");
            if (config.IoEngine is not (null or "Sync" or "Async"))
                throw new JsonBodyException($"unknown variant `{config.IoEngine}`, expected `Async` or `Sync` at `io_engine`");
            if (config.IoEngine == "Async")
                throw new FaultException("Drive config error: `io_engine` Async cannot be honoured: csvmm serves block requests with synchronous calls on its I/O thread (use Sync).");
            if (config.RateLimiter is { IsUnlimited: false })
                throw new FaultException("Drive config error: `rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).");

            int index = _drives.FindIndex(d => d.DriveId == config.DriveId);
            if (config.IsRootDevice && _drives.Any(d => d.IsRootDevice && d.DriveId != config.DriveId))
                throw new FaultException("Drive config error: A root block device already exists!");
            bool readOnly = config.IsReadOnly ?? false;
            if (CheckFile(path, writable: !readOnly) is { } fileError)
                throw new FaultException($"Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: {fileError} {path}");

            var stored = new DriveConfig
            {
                DriveId = config.DriveId,
                PartUuid = config.PartUuid,
                IsRootDevice = config.IsRootDevice,
                CacheType = config.CacheType ?? "Unsafe",
                IsReadOnly = readOnly,
                PathOnHost = path,
                IoEngine = config.IoEngine ?? "Sync",
            };
            // As BlockBuilder::insert (src/vmm/src/vmm_config/drive.rs): an id that exists is
            // replaced in place, and the root device is always first (it becomes /dev/vda).
            if (index >= 0) _drives.RemoveAt(index);
            if (stored.IsRootDevice) _drives.Insert(0, stored);
            else if (index >= 0) _drives.Insert(Math.Min(index, _drives.Count), stored);
            else _drives.Add(stored);
            _bootPath = true;
        }
    }

    public void PatchDrive(PartialDrive update)
    {
        lock (_lock)
        {
            RequireStarted();
            int index = _drives.FindIndex(d => d.DriveId == update.DriveId);
            if (index < 0)
                throw new FaultException($"Drive config error: Unable to patch the block device: no drive has the id `{update.DriveId}`. Please verify the request arguments.");
            if (update.RateLimiter is { IsUnlimited: false })
                throw new FaultException("Drive config error: `rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).");
            if (update.PathOnHost is not { } path)
            {
                if (update.RateLimiter is not null) return; // an empty limiter changes nothing
                throw new FaultException("Drive config error: Unable to patch the block device: nothing to change (give path_on_host). Please verify the request arguments.");
            }
            var drive = _drives[index];
            if (CheckFile(path, writable: drive.IsReadOnly != true) is { } fileError)
                throw new FaultException($"Drive config error: Unable to patch the block device: {fileError} {path} Please verify the request arguments.");
            try
            {
                _vm.UpdateDrivePath(update.DriveId, path);
            }
            catch (Exception e) when (e is not FaultException)
            {
                throw new FaultException($"Drive config error: Unable to patch the block device: {e.Message} Please verify the request arguments.", e);
            }
            drive.PathOnHost = path;
        }
    }

    public void PutNetworkInterface(NetworkInterfaceConfig config)
    {
        lock (_lock)
        {
            RequireNotStarted();
            MacAddress? mac = null;
            if (config.GuestMac is { } text)
            {
                if (!MacAddress.TryParse(text, out var parsed))
                    throw new JsonBodyException($"invalid value: string \"{text}\", expected a MAC address such as 06:00:ac:10:00:02 at `guest_mac`");
                mac = parsed;
            }
            if (config.Mtu is not null)
                throw new FaultException("Network config error: `mtu` cannot be honoured: csvmm's virtio-net does not offer VIRTIO_NET_F_MTU (leave it out).");
            if (config.RxRateLimiter is { IsUnlimited: false })
                throw new FaultException("Network config error: `rx_rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).");
            if (config.TxRateLimiter is { IsUnlimited: false })
                throw new FaultException("Network config error: `tx_rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).");
            if (!TapDevice.IsValidName(config.HostDevName, out string reason))
                throw new FaultException($"Network config error: Cannot open/create the tap device: {reason}");
            foreach (var other in _nets)
            {
                if (other.IfaceId == config.IfaceId) continue;
                if (mac is { } m && other.GuestMac is { } otherText && MacAddress.TryParse(otherText, out var otherMac) && otherMac.Equals(m))
                    throw new FaultException($"Network config error: The MAC address is already in use: {m}");
                if (other.HostDevName == config.HostDevName)
                    throw new FaultException($"Network config error: Cannot open/create the tap device: {config.HostDevName} is already used by interface {other.IfaceId}");
            }
            var stored = new NetworkInterfaceConfig { IfaceId = config.IfaceId, HostDevName = config.HostDevName, GuestMac = mac?.ToString() };
            int index = _nets.FindIndex(n => n.IfaceId == config.IfaceId);
            if (index >= 0) _nets[index] = stored;
            else _nets.Add(stored);
            _bootPath = true;
        }
    }

    public void PatchNetworkInterface(PartialNetworkInterface update)
    {
        lock (_lock)
        {
            RequireStarted();
            if (!_nets.Any(n => n.IfaceId == update.IfaceId))
                throw new FaultException($"Network config error: Unable to update the net device: no network interface has the id `{update.IfaceId}`");
            if (update.RxRateLimiter is { IsUnlimited: false })
                throw new FaultException("Network config error: `rx_rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).");
            if (update.TxRateLimiter is { IsUnlimited: false })
                throw new FaultException("Network config error: `tx_rate_limiter` cannot be honoured: csvmm has no rate limiter (leave it out).");
            // No limiter given, or only empty ones: nothing changes, as in Firecracker.
        }
    }

    public void PutLogger(LoggerConfig config)
    {
        lock (_lock)
        {
            RequireNotStarted();
            Serilog.Events.LogEventLevel? level = Serilog.Events.LogEventLevel.Information;
            if (config.Level is { } text && !LoggerSettings.TryParseLevel(text, out level))
                throw new JsonBodyException($"Invalid LevelFilter `{text}` (expected Off, Error, Warning, Info, Debug or Trace) at `level`");
            NonBlockingLineFile? output = _logger.Output;
            if (config.LogPath is { } path)
            {
                try
                {
                    output = NonBlockingLineFile.Open(path);
                }
                catch (IOException e)
                {
                    throw new FaultException($"Logger error: Failed to open target file: {e.Message}");
                }
                _logOutputs.Add(output);
            }
            // Logger::update in src/vmm/src/logger/logging.rs: the level falls back to Info, the
            // other keys keep their previous value when left out.
            var settings = new LoggerSettings
            {
                Level = level,
                ShowLevel = config.ShowLevel ?? _logger.ShowLevel,
                ShowLogOrigin = config.ShowLogOrigin ?? _logger.ShowLogOrigin,
                Module = config.Module ?? _logger.Module,
                Output = output,
            };
            try
            {
                _vm.ConfigureLogger(settings);
            }
            catch (Exception e) when (e is not FaultException)
            {
                throw new FaultException($"Logger error: {e.Message}", e);
            }
            _logger = settings;
        }
    }

    public void PutMetrics(MetricsConfig config)
    {
        lock (_lock)
        {
            RequireNotStarted();
            const string prefix = "Metrics error: Cannot initialize the metrics system due to bad user input: ";
            if (_metrics is not null) throw new FaultException(prefix + "Reinitialization of metrics not allowed.");
            NonBlockingLineFile output;
            try
            {
                output = NonBlockingLineFile.Open(config.MetricsPath);
            }
            catch (IOException e)
            {
                throw new FaultException(prefix + e.Message);
            }
            _metrics = new FirecrackerMetricsWriter(output, ApiMetrics, config.EmitId == true ? InstanceId : null, config.Properties);
        }
    }

    public void StartInstance()
    {
        lock (_lock)
        {
            RequireNotStarted();
            var spec = BuildSpec();
            try
            {
                _vm.Start(spec);
            }
            catch (Exception e) when (e is not FaultException)
            {
                throw new FaultException($"Start microvm error: {e.Message}", e);
            }
            _state = VmState.Running;
            StartMetrics();
        }
    }

    private void StartMetrics()
    {
        if (_metrics is null) return;
        _metrics.Source = MetricsSource;
        _metrics.StartPeriodic();
    }

    /// <summary>The configuration so far in csvmm's terms; what InstanceStart will hand to the VM.</summary>
    public MicroVmSpec BuildSpec()
    {
        lock (_lock)
        {
            if (_bootSource is not { } boot)
                throw new FaultException("Start microvm error: Cannot start microvm without kernel configuration.");
            return new MicroVmSpec
            {
                KernelPath = boot.KernelImagePath,
                InitrdPath = boot.InitrdPath,
                Cmdline = boot.BootArgs,
                CmdlineReplacesBase = boot.BootArgs is not null,
                MemoryMiB = (int)_machine.MemSizeMib,
                Vcpus = _machine.VcpuCount,
                Disks = [.. _drives.Select(d => new MicroVmDisk(d.PathOnHost!, d.IsReadOnly == true, d.DriveId, d.IsRootDevice, d.PartUuid))],
                Nets = [.. _nets.Select(n => new MicroVmNet(n.IfaceId, n.HostDevName,
                    n.GuestMac is { } m && MacAddress.TryParse(m, out var mac) ? mac : null))],
            };
        }
    }

    public void SendCtrlAltDel()
    {
        lock (_lock)
        {
            RequireStarted();
            RunOnVm(_vm.SendCtrlAltDel);
        }
    }

    public void FlushMetrics()
    {
        lock (_lock)
        {
            RequireStarted();
            if (_metrics is { } metrics && !metrics.Flush())
                throw new FaultException($"Internal VMM error: Failed to write metrics: {metrics.Path} is not taking data.");
        }
    }

    public void CreateSnapshot(SnapshotCreateParams request)
    {
        lock (_lock)
        {
            RequireStarted();
            string type = request.SnapshotType ?? "Full";
            if (type is not ("Full" or "Diff"))
                throw new JsonBodyException($"unknown variant `{type}`, expected `Full` or `Diff` at `snapshot_type`");
            if (type == "Diff")
                throw new FaultException("Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
            if (_state != VmState.Paused)
                throw new FaultException("Create snapshot error: the microVM must be paused first (PATCH /vm with {\"state\": \"Paused\"}).");
            long start = Stopwatch.GetTimestamp();
            try
            {
                _vm.CreateSnapshot(request.SnapshotPath, request.MemFilePath);
            }
            catch (Exception e) when (e is not FaultException)
            {
                throw new FaultException($"Create snapshot error: {e.Message}", e);
            }
            ApiMetrics.Latencies.Set("full_create_snapshot", (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
    }

    public void LoadSnapshot(SnapshotLoadParams request)
    {
        // The body rules of parse_put_snapshot_load (src/firecracker/src/api_server/request/snapshot.rs).
        string memoryPath = (request.MemBackend, request.MemFilePath) switch
        {
            ({ }, { }) => throw new JsonBodyException("too many fields: either `mem_backend` or `mem_file_path` exclusively is required"),
            (null, null) => throw new JsonBodyException("missing field: either `mem_backend` or `mem_file_path` is required"),
            ({ } backend, null) => backend.BackendType switch
            {
                "File" => backend.BackendPath,
                "Uffd" => throw new FaultException("Load snapshot error: `backend_type` Uffd cannot be honoured: csvmm maps the memory file itself (use File)."),
                var other => throw new JsonBodyException($"unknown variant `{other}`, expected `File` or `Uffd` at `mem_backend.backend_type`"),
            },
            (null, { } path) => path,
        };
        if (request.EnableDiffSnapshots == true || request.TrackDirtyPages == true)
            throw new FaultException("Load snapshot error: diff snapshots cannot be honoured: csvmm tracks no dirty pages (leave `enable_diff_snapshots` and `track_dirty_pages` out).");
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in request.NetworkOverrides ?? [])
        {
            if (!TapDevice.IsValidName(o.HostDevName, out string reason))
                throw new FaultException($"Load snapshot error: Failed to restore from snapshot: network override for `{o.IfaceId}`: {reason}");
            if (!overrides.TryAdd(o.IfaceId, o.HostDevName))
                throw new FaultException($"Load snapshot error: Failed to restore from snapshot: two network overrides for `{o.IfaceId}`");
        }
        lock (_lock)
        {
            RequireNotStarted();
            if (_bootPath)
                throw new FaultException("Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources.");
            bool resume = request.ResumeVm == true;
            long start = Stopwatch.GetTimestamp();
            SnapshotShape shape;
            try
            {
                shape = _vm.LoadSnapshot(request.SnapshotPath, memoryPath, resume, overrides);
            }
            catch (Exception e) when (e is not FaultException)
            {
                throw new FaultException($"Load snapshot error: Failed to restore from snapshot: {e.Message}", e);
            }
            ApiMetrics.Latencies.Set("load_snapshot", (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            _machine = new MachineConfig { VcpuCount = shape.Vcpus, MemSizeMib = shape.MemoryMiB, Smt = false, TrackDirtyPages = false, HugePages = "None" };
            _state = resume ? VmState.Running : VmState.Paused;
            StartMetrics();
        }
    }

    public void Pause() => ChangeState(VmState.Paused, _vm.Pause, "pause_vm");

    public void Resume() => ChangeState(VmState.Running, _vm.Resume, "resume_vm");

    private void ChangeState(VmState target, Action action, string latencyKey)
    {
        lock (_lock)
        {
            RequireStarted();
            if (_state == target) return;
            long start = Stopwatch.GetTimestamp();
            RunOnVm(action);
            ApiMetrics.Latencies.Set(latencyKey, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            _state = target;
        }
    }

    private static void RunOnVm(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not FaultException)
        {
            throw new FaultException($"Internal VMM error: {e.Message}", e);
        }
    }

    private void RequireNotStarted()
    {
        if (_state != VmState.NotStarted) throw new FaultException(NotSupportedPostBoot);
    }

    private void RequireStarted()
    {
        if (_state == VmState.NotStarted) throw new FaultException(NotSupportedPreBoot);
    }

    private static FaultException MachineError(string detail) => new($"Machine config error: {detail}");

    private static MachineConfig DefaultMachine() => new()
    {
        VcpuCount = 1,
        MemSizeMib = MachineConfig.DefaultMemSizeMib,
        Smt = false,
        TrackDirtyPages = false,
        HugePages = "None",
    };

    /// <summary>
    /// Opens <paramref name="path"/> as the VM will (read-only or read-write) and closes it again;
    /// null when that works, else errno's text as Rust's io::Error prints it ("No such file or
    /// directory (os error 2)"). Firecracker opens these files when the request arrives, so a bad
    /// path fails the PUT, not the start.
    /// </summary>
    private static string? CheckFile(string path, bool writable)
    {
        int errno = FileIo.TryOpen(path, readOnly: !writable, out var fd);
        if (errno != 0)
            return $"{FileIo.Describe(errno)} (os error {errno})";
        using (fd)
        {
            if (FileIo.TryGetFileInfo(fd!.Fd, out var kind, out _, out _, out _) == 0 && kind == FileKind.Directory)
                return $"{FileIo.Describe(FileIo.EISDIR)} (os error {FileIo.EISDIR})";
        }
        return null;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _metrics?.Dispose();
            _metrics = null;
            foreach (var output in _logOutputs) output.Dispose();
            _logOutputs.Clear();
        }
    }
}
