using System.Diagnostics;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Legacy;
using Csvmm.Devices.Logging;
using Csvmm.Devices.Virtio;
using Csvmm.Host.Memory;
using Csvmm.Vmm.Config;
using Serilog;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// A built VM (see <see cref="Builder.VmBuilder"/>): runs its vCPUs and device threads until
/// something stops it, then shuts down in the order that keeps data and host memory safe:
/// every vCPU out of KVM_RUN for good, every device thread finished, every writable disk synced;
/// only then may <see cref="Dispose"/> unmap guest RAM and the kvm_run pages. A vCPU or device
/// thread that will not stop leaves everything mapped (the process exits around it).
/// </summary>
public sealed class VirtualMachine : IVcpuHost, IDisposable
{
    /// <summary>Kicks tried before a vCPU counts as stuck, one per <see cref="KickInterval"/>.</summary>
    public const int KickAttempts = 5;
    public static readonly TimeSpan KickInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a device thread may take to finish its request in flight at shutdown.</summary>
    public static readonly TimeSpan DeviceStopTimeout = TimeSpan.FromSeconds(30);

    private readonly VmConfig _config;
    private readonly ILogger _log;
    private readonly GuestLog _guestLog;
    private readonly Stopwatch _sinceStart;
    private readonly IReadOnlyList<VcpuThread> _vcpus;
    private readonly IReadOnlyList<AttachedVirtioDevice> _devices;
    private readonly IReadOnlyList<IDisposable> _resources;
    private readonly ManualResetEventSlim _stopped = new();
    private readonly ManualResetEventSlim _started = new();
    private readonly ManualResetEventSlim _snapshotRequested = new();
    private readonly Csvmm.Kvm.KvmVm _kvmVm;
    private readonly Devices.Legacy.I8042Controller _i8042;
    private readonly Lock _firstRun = new();
    private StopReason _stopReason;
    private int _stopClaimed;
    private volatile bool _stopping;
    private RunOutcome? _outcome;
    private bool _disposed;

    internal VirtualMachine(VmConfig config, ILogger log, Stopwatch sinceStart, VmParts parts)
    {
        _config = config;
        _log = log;
        _guestLog = new GuestLog(log, "guest-control");
        _sinceStart = sinceStart;
        _vcpus = parts.Vcpus.Select(v => new VcpuThread(v, parts.ExitHandler, this, log)).ToList();
        _devices = parts.VirtioDevices;
        _resources = parts.Resources;
        Memory = parts.Memory;
        PioBus = parts.PioBus;
        MmioBus = parts.MmioBus;
        Serial = parts.Serial;
        _i8042 = parts.I8042;
        _kvmVm = parts.KvmVm;
        KernelCommandLine = parts.KernelCommandLine;
    }

    public VmConfig Config => _config;
    public string KernelCommandLine { get; }
    public GuestMemory Memory { get; }
    public DeviceBus PioBus { get; }
    public DeviceBus MmioBus { get; }
    public Serial16550 Serial { get; }
    public IReadOnlyList<AttachedVirtioDevice> VirtioDevices => _devices;

    /// <summary>vCPU exits by reason, summed over the vCPUs once they stopped.</summary>
    public ExitCounters Exits { get; } = new();

    public TimeSpan? FirstRunAt { get; private set; }

    /// <summary>csvmm's resident memory (KiB) just before the first KVM_RUN: after a restore, what the restore itself costs.</summary>
    public long? RssAtFirstRunKiB { get; private set; }
    public TimeSpan? BootMarkAt { get; private set; }

    public bool Stopping => _stopping;

    internal TimeSpan Elapsed => _sinceStart.Elapsed;

    /// <summary>Guest-control page callbacks (wired by the builder).</summary>
    internal void OnGuestExit(int status) =>
        RequestStop(new StopReason(StopKind.GuestExitStatus, status, $"guest reported exit status {status}"));

    internal void OnGuestMark(byte value)
    {
        var t = _sinceStart.Elapsed;
        if (value == GuestControl.BootCompleteMark)
        {
            BootMarkAt ??= t;
            _guestLog.Information("Guest boot-time marker after {Ms:F0} ms", t.TotalMilliseconds);
        }
        else
        {
            _guestLog.Information("Guest mark {Value} after {Ms:F0} ms", value, t.TotalMilliseconds);
        }
    }

    /// <summary>The guest wrote the snapshot register: with --snapshot-to, the run loop saves a snapshot.</summary>
    internal void OnGuestSnapshot()
    {
        if (_config.SnapshotTo is null)
        {
            _guestLog.Information("Guest asked for a snapshot {Where}; ignored (no --snapshot-to)", "");
            return;
        }
        // Park every vCPU (this one included: immediate_exit makes its next KVM_RUN return at
        // once) before the write returns, so the guest does not run past its request while the
        // run loop wakes up; the run loop's Pause then waits for them and quiesces the devices.
        foreach (var v in _vcpus) v.RequestPause();
        _snapshotRequested.Set();
    }

    internal void OnGuestReset(bool panicSeen) => RequestStop(panicSeen
        ? new StopReason(StopKind.GuestPanic, Detail: "guest kernel panicked")
        : new StopReason(StopKind.GuestReset, Detail: "guest reset through the i8042"));

    /// <summary>A device thread failed: the guest must not run on with a dead device.</summary>
    internal void OnDeviceThreadFailed(string device, Exception e) =>
        RequestStop(new StopReason(StopKind.DeviceFailure, Detail: $"{device}: device thread failed: {e.Message}"));

    public void OnFirstRun()
    {
        lock (_firstRun)
        {
            if (FirstRunAt is not null) return;
            FirstRunAt = _sinceStart.Elapsed;
            RssAtFirstRunKiB = ResidentKiB();
        }
        _log.Debug("First KVM_RUN {Ms:F1} ms after csvmm started", FirstRunAt.Value.TotalMilliseconds);
    }

    /// <summary>The second field of /proc/self/statm (resident pages; proc(5)), in KiB; null if unreadable.</summary>
    private static long? ResidentKiB()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1]) * (Environment.SystemPageSize / 1024);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Records the first stop reason and wakes <see cref="Run"/>; later reasons are ignored.</summary>
    public void RequestStop(StopReason reason)
    {
        if (Interlocked.Exchange(ref _stopClaimed, 1) != 0) return;
        _stopReason = reason;
        _stopping = true;
        _stopped.Set();
        foreach (var v in _vcpus) v.Kick();
    }

    /// <summary>
    /// Runs until the guest or the host stops the VM, then shuts down (see the class summary). The
    /// shutdown happens whatever goes wrong in between: an exception still stops every vCPU first.
    /// </summary>
    public RunOutcome Run()
    {
        if (_outcome is not null) throw new InvalidOperationException("the VM has already run");
        try
        {
            if (_config.StartPaused)
            {
                // Each vCPU's first KVM_RUN returns at once (immediate_exit) and the thread parks.
                foreach (var v in _vcpus) v.RequestPause();
            }
            foreach (var d in _devices) d.Worker.Start();
            foreach (var v in _vcpus) v.Start();
            if (_config.StartPaused && !Pause(TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException("the VM could not be held paused at its start");
            _started.Set();
            WaitForStop();
        }
        catch (Exception e)
        {
            RequestStop(new StopReason(StopKind.VmmError, Detail: $"run loop failed: {e.Message}"));
            _log.Debug(e, "run loop failed");
        }
        finally
        {
            _outcome = Shutdown();
        }
        return _outcome;
    }

    private void WaitForStop()
    {
        var deadline = _config.TimeoutSeconds > 0 ? _sinceStart.Elapsed + TimeSpan.FromSeconds(_config.TimeoutSeconds) : TimeSpan.MaxValue;
        var events = new[] { _stopped.WaitHandle, _snapshotRequested.WaitHandle };
        while (!_stopped.IsSet)
        {
            var left = deadline == TimeSpan.MaxValue ? TimeSpan.FromHours(1) : deadline - _sinceStart.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                RequestStop(new StopReason(StopKind.Timeout, Detail: $"guest still running after {_config.TimeoutSeconds} s"));
                return;
            }
            int which = WaitHandle.WaitAny(events, left < TimeSpan.FromHours(1) ? left : TimeSpan.FromHours(1));
            if (which == 1 && !_stopped.IsSet) SnapshotOnRequest();
        }
    }

    /// <summary>--snapshot-to: pause, save, stop. The disks are not written after the snapshot.</summary>
    private void SnapshotOnRequest()
    {
        _snapshotRequested.Reset();
        var target = SnapshotSource.InDirectory(_config.SnapshotTo!);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (!Pause(TimeSpan.FromSeconds(30), quiesce: true))
        {
            RequestStop(new StopReason(StopKind.VmmError, Detail: "the guest asked for a snapshot, but the VM could not be paused"));
            return;
        }
        Directory.CreateDirectory(_config.SnapshotTo!);
        SaveSnapshot(target.StatePath, target.MemoryPath);
        _log.Information("Snapshot saved to {Dir} in {Ms:F0} ms", _config.SnapshotTo, watch.Elapsed.TotalMilliseconds);
        RequestStop(new StopReason(StopKind.SnapshotSaved, Detail: $"snapshot saved to {_config.SnapshotTo}"));
    }

    /// <summary>
    /// Writes the paused VM to <paramref name="statePath"/> (machine shape, KVM state of every vCPU
    /// and of the VM, device state) and <paramref name="memoryPath"/> (guest RAM, sparse). The
    /// VM must be paused with its devices quiesced (<see cref="Pause"/>).
    /// </summary>
    public void SaveSnapshot(string statePath, string memoryPath)
    {
        // vCPU state first, then the VM's (Csvmm.Kvm.State documents why: MP_STATE runs pending
        // APIC events, and the PIT/clock are read after every vCPU stopped).
        var vcpus = _vcpus.Select(v => Csvmm.Kvm.State.VcpuState.Capture(((KvmVcpuRunner)v.Vcpu).Vcpu).Serialize()).ToList();
        var vm = Csvmm.Kvm.State.VmState.Capture(_kvmVm).Serialize();
        using (var mem = new FileStream(memoryPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Memory.WriteTo(mem);
            mem.Flush(flushToDisk: true);
        }
        var contents = new Snapshot.SnapshotContents
        {
            CsvmmVersion = Cli.CliApp.Version,
            MemoryMiB = _config.MemoryMiB,
            Cpus = _config.Cpus,
            Transport = _config.Transport,
            Disks = _devices.Where(d => d.Device is Devices.Virtio.Block.BlockDevice).Select((d, i) =>
            {
                var blk = (Devices.Virtio.Block.BlockDevice)d.Device;
                long size = blk.Backend is Devices.Virtio.Block.BlockBackend file ? file.SizeBytes : (long)blk.Backend.CapacitySectors * 512;
                var disk = _config.Disks.Count > i ? _config.Disks[i] : null;
                return new Snapshot.SnapshotDisk(blk.Backend.Path, size, blk.Backend.ReadOnly, disk?.Id, disk?.Name);
            }).ToList(),
            Nets = _devices.Where(d => d.Device is Devices.Virtio.Net.NetDevice).Select((d, i) =>
            {
                var net = (Devices.Virtio.Net.NetDevice)d.Device;
                return new Snapshot.SnapshotNet(d.Labels.First(l => l.Key == "tap").Value, net.Mac.ToString(),
                    _config.Nets.Count > i ? _config.Nets[i].Name : null);
            }).ToList(),
            MemoryBytes = Memory.TotalSize,
            KernelCommandLine = KernelCommandLine,
            VcpuStates = vcpus,
            VmState = vm,
            Serial = Save(Serial),
            I8042 = Save(_i8042),
            VirtioDevices = _devices.Select(d => Save(d.TransportState)).ToList(),
        };
        Snapshot.SnapshotFile.Write(statePath, contents);
    }

    private static byte[] Save(Devices.State.ISnapshotDevice device)
    {
        var w = new Devices.State.StateWriter();
        device.Save(w);
        return w.ToArray();
    }

    /// <summary>Waits until <see cref="Run"/> has started the vCPUs (or stopped already); false on timeout.</summary>
    public bool WaitStarted(TimeSpan timeout) => WaitHandle.WaitAny([_started.WaitHandle, _stopped.WaitHandle], timeout) != WaitHandle.WaitTimeout;

    /// <summary>Ctrl+Alt+Del on the guest's keyboard (Firecracker's SendCtrlAltDel); false when the i8042's buffer is full.</summary>
    public bool SendCtrlAltDel() => _i8042.InjectCtrlAltDel();

    /// <summary>vCPU exits so far, while the VM runs (<see cref="Exits"/> is the total once it stopped).</summary>
    public ExitCounters CurrentExits()
    {
        var sum = new ExitCounters();
        foreach (var v in _vcpus) sum.Add(v.Exits);
        return sum;
    }

    /// <summary>
    /// Parks every vCPU outside KVM_RUN and every device thread between requests (Firecracker's
    /// PATCH /vm Paused). False if one did not park within <paramref name="timeout"/>; the VM is
    /// then resumed.
    /// </summary>
    public bool Pause(TimeSpan timeout, bool quiesce = false)
    {
        foreach (var v in _vcpus) v.RequestPause();
        bool ok = _vcpus.All(v => v.WaitParked(timeout));
        if (ok) ok = _devices.All(d => d.Worker.Pause(timeout, quiesce));
        if (!ok) Resume();
        return ok;
    }

    public void Resume()
    {
        foreach (var d in _devices) d.Worker.Resume();
        foreach (var v in _vcpus)
        {
            if (v.IsParked) v.Vcpu.NotifyGuestPaused();
            v.Resume();
        }
    }

    private RunOutcome Shutdown()
    {
        RequestStop(new StopReason(StopKind.VmmError, Detail: "stopped without a reason"));

        // 1. Every vCPU out of KVM_RUN for good: kick, wait, kick again.
        var stuckVcpus = new List<int>();
        foreach (var v in _vcpus)
        {
            bool exited = false;
            for (int attempt = 0; attempt < KickAttempts && !exited; attempt++)
            {
                v.Kick();
                exited = v.Join(KickInterval);
            }
            if (exited) Exits.Add(v.Exits);
            else stuckVcpus.Add(v.Id);
        }
        foreach (int id in stuckVcpus)
            _log.Error("vCPU {Id} did not leave KVM_RUN after {Attempts} kicks", id, KickAttempts);

        // 2. Device threads finish the request they are in, then stop.
        var stuckDevices = new List<string>();
        foreach (var d in _devices)
            if (!d.Worker.Stop(DeviceStopTimeout))
                stuckDevices.Add(d.Worker.Name);

        // 3. Every completed write made durable before the process can exit; a failure is reported
        // (and changes the exit code), never dropped. A disk whose device thread is stuck in host
        // I/O is still synced: fdatasync does not touch guest memory.
        var failures = new List<SyncFailure>();
        foreach (var d in _devices)
        {
            if (d.Device is not IDurableDevice durable) continue;
            int errno = durable.SyncBackend();
            if (errno != 0) failures.Add(new SyncFailure(durable.DurableTarget, errno));
        }
        return new RunOutcome(_stopReason, failures, stuckVcpus, stuckDevices);
    }

    /// <summary>
    /// Releases KVM, devices and memory — unless a vCPU or device thread might still use them, in
    /// which case nothing is unmapped and the process is expected to exit.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_outcome is { SafeToTearDown: false })
        {
            _log.Warning("Leaving guest memory and vCPUs mapped: a thread may still be running");
            return;
        }
        // Threads that never ran (a failed start) are not running either.
        foreach (var d in _devices) d.Worker.Dispose();
        foreach (var v in _vcpus) v.Dispose();
        for (int i = _resources.Count - 1; i >= 0; i--) _resources[i].Dispose();
        _stopped.Dispose();
        _started.Dispose();
    }
}
