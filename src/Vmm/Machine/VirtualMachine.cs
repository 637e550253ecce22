using Csvmm.Host.Memory;
using System.Diagnostics;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Legacy;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Boot;
using Serilog;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// The composition root: builds a KVM VM from a <see cref="VmConfig"/> (memory, kernel, boot
/// structures, devices, vCPUs), runs it until something stops it, and tears it down in order:
/// vCPUs out of KVM_RUN first, then devices, then memory.
/// </summary>
public sealed class VirtualMachine : IDisposable
{
    private readonly VmConfig _config;
    private readonly ILogger _log;
    private readonly KvmSystem _kvm;
    private readonly KvmVm _vm;
    private readonly GuestMemory _memory;
    private readonly List<VcpuThread> _vcpus = [];
    private readonly List<IDisposable> _owned = [];
    private readonly List<BlockBackend> _disks = [];
    private readonly List<TapBackend> _taps = [];
    private readonly VirtioEventLoop _io;
    private readonly ManualResetEventSlim _stopped = new();
    private readonly Stopwatch _sinceStart;
    private StopReason _stopReason;
    private int _stopClaimed;

    public DeviceBus PioBus { get; }
    public DeviceBus MmioBus { get; }
    public Serial16550 Serial { get; }
    public ConsoleOutput Console { get; }
    public string KernelCommandLine { get; private set; } = "";
    public ExitCounters Exits { get; } = new();
    public TimeSpan? FirstRunAt { get; private set; }
    public TimeSpan? BootMarkAt { get; private set; }
    public KernelImage Kernel { get; }
    public IReadOnlyList<VirtioBlockInfo> BlockDevices => _blockDevices;
    private readonly List<VirtioBlockInfo> _blockDevices = [];
    public IReadOnlyList<VirtioNetInfo> NetDevices => _netDevices;
    private readonly List<VirtioNetInfo> _netDevices = [];

    private VirtualMachine(VmConfig config, ILogger log, ConsoleOutput console, Stopwatch sinceStart)
    {
        _config = config;
        _log = log;
        _sinceStart = sinceStart;
        Console = console;

        // Parse inputs before touching KVM, so bad files fail fast with their own message.
        Kernel = KernelImage.Load(config.KernelPath);
        byte[]? initrd = config.InitrdPath is { } ip ? LoadInitrd(ip) : null;
        _io = new VirtioEventLoop(log);
        try
        {
            // Disks next: a missing or locked image is reported before KVM is touched.
            foreach (var disk in config.Disks)
                _disks.Add(BlockBackend.Open(disk.Path, disk.ReadOnly, log));
            foreach (var net in config.Nets)
                _taps.Add(TapBackend.Open(net.Tap));
        }
        catch
        {
            foreach (var d in _disks) d.Dispose();
            foreach (var t in _taps) t.Dispose();
            _io.Dispose();
            throw;
        }

        try
        {
            _kvm = KvmSystem.Open(config.KvmDevice);
            _kvm.RequireCapabilities(KvmCap.Irqchip, KvmCap.UserMemory, KvmCap.SetTssAddr, KvmCap.ExtCpuid,
                KvmCap.Pit2, KvmCap.Ioeventfd, KvmCap.Irqfd, KvmCap.MpState, KvmCap.ImmediateExit);
            int maxVcpus = _kvm.CheckExtension(KvmCap.MaxVcpus);
            if (config.Cpus > maxVcpus)
                throw new ConfigException($"--cpus {config.Cpus} is above this host's KVM limit of {maxVcpus}");

            _vm = _kvm.CreateVm();
            _vm.SetTssAddress(Layout.TssAddress);
            if (_vm.CheckExtension(KvmCap.SetIdentityMapAddr) > 0)
                _vm.SetIdentityMapAddress(Layout.IdentityMapAddress);
            _vm.CreateIrqchip();
            _vm.CreatePit2(KvmPitConfig.SpeakerDummy);

            _memory = GuestMemory.CreateAnonymous(Layout.RamRegions(config.MemoryBytes));
            uint slot = 0;
            foreach (var r in _memory.Regions)
                _vm.SetUserMemoryRegion(slot++, r.GuestAddress, r.Size, r.HostAddress);

            PioBus = new DeviceBus("pio", log);
            MmioBus = new DeviceBus("mmio", log);
            var serialIrq = Own(new IrqfdLine(_vm, Layout.Com1Gsi));
            Serial = new Serial16550(console, serialIrq);
            PioBus.Register(Layout.Com1Port, Layout.Com1Length, Serial, "serial0");
            PioBus.Register(Layout.I8042Port, Layout.I8042Length, new I8042Controller(OnGuestReset), "i8042");
            MmioBus.Register(Layout.GuestControlAddress, Layout.GuestControlSize,
                new GuestControl(OnGuestExit, OnGuestMark), "guest-control");

            var resources = new ResourceAllocator();
            var virtio = new List<(ulong, uint)>();
            for (int i = 0; i < _disks.Count; i++)
            {
                var (mmioBase, gsi) = resources.AllocateVirtio();
                var device = new BlockDevice(_disks[i], config.Disks[i].Id, log);
                var transport = AddVirtioDevice(device, mmioBase, gsi, $"virtio-blk{i}");
                _blockDevices.Add(new VirtioBlockInfo($"vd{(char)('a' + i)}", config.Disks[i].Path, device, transport, mmioBase, gsi));
                virtio.Add((mmioBase, gsi));
            }
            for (int i = 0; i < _taps.Count; i++)
            {
                var (mmioBase, gsi) = resources.AllocateVirtio();
                var mac = config.Nets[i].Mac ?? MacAddress.FromName(_taps[i].Name);
                var device = new NetDevice(_taps[i], mac, log);
                var transport = AddVirtioDevice(device, mmioBase, gsi, $"virtio-net{i}");
                device.Register(_io, transport);
                _netDevices.Add(new VirtioNetInfo($"eth{i}", _taps[i].Name, mac, device, transport, mmioBase, gsi));
                virtio.Add((mmioBase, gsi));
            }
            bool? rootReadOnly = config.Disks.Count > 0 ? config.Disks[0].ReadOnly : null;
            KernelCommandLine = KernelCmdline.Build(virtio, rootReadOnly, config.Cmdline);

            ulong entry = LoadKernel(initrd);
            ulong cr3 = PageTables.Write(_memory);
            Gdt.Write(_memory);
            _memory.Write(Layout.MpTableAddress, MpTable.Build(config.Cpus));

            var supported = _kvm.GetSupportedCpuid();
            bool tscDeadline = _kvm.CheckExtension(KvmCap.TscDeadlineTimer) > 0;
            // Under the PVM backend (nested KVM) a guest's hypercall never returns: a 2-vCPU Linux
            // hung in its first PV IPI. Without these features the guest uses the emulated LAPIC.
            bool pvHypercalls = !Directory.Exists("/sys/module/kvm_pvm");
            if (!pvHypercalls)
                log.Debug("KVM PVM backend: PV IPIs, PV spinlock kicks and PV yield hidden from the guest");
            for (int id = 0; id < config.Cpus; id++)
            {
                var vcpu = _vm.CreateVcpu(id);
                VcpuSetup.Configure(vcpu, Cpuid.ForVcpu(supported, id, config.Cpus, tscDeadline, pvHypercalls), entry, cr3);
                _vcpus.Add(new VcpuThread(this, vcpu, log));
            }
        }
        catch
        {
            DisposeKvm();
            throw;
        }
    }

    /// <summary>Builds the VM; throws BootException, ConfigException, KvmUnavailableException, KvmException.</summary>
    public static VirtualMachine Create(VmConfig config, ILogger log, ConsoleOutput console, Stopwatch sinceStart) =>
        new(config, log, console, sinceStart);

    public GuestMemory Memory => _memory;

    public KvmVm Vm => _vm;

    /// <summary>
    /// Puts a virtio device on the MMIO bus behind a transport: QueueNotify of each queue becomes a
    /// KVM ioeventfd (no vCPU exit), completions raise the GSI through an irqfd, and the queue work
    /// runs on the I/O thread.
    /// </summary>
    private VirtioMmioTransport AddVirtioDevice(IVirtioDevice device, ulong mmioBase, uint gsi, string name)
    {
        var irq = Own(new IrqfdLine(_vm, gsi));
        var transport = Own(new VirtioMmioTransport(device, _memory, irq, _log));
        MmioBus.Register(mmioBase, VirtioMmioTransport.WindowSize, transport, name);
        for (int q = 0; q < transport.QueueCount; q++)
            _vm.AssignIoeventfd(transport.QueueEvent(q), mmioBase + VirtioMmioTransport.QueueNotifyOffset, 4, (ulong)q);
        _io.Add(transport);
        return transport;
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private static byte[] LoadInitrd(string path)
    {
        try
        {
            if (Directory.Exists(path)) throw new BootException($"initrd {path} is a directory");
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException) { throw new KernelFileException($"initrd {path} does not exist"); }
        catch (DirectoryNotFoundException) { throw new KernelFileException($"initrd {path} does not exist"); }
        catch (UnauthorizedAccessException) { throw new KernelFileException($"initrd {path} is not readable (permission denied)"); }
        catch (IOException e) { throw new KernelFileException($"initrd {path} cannot be read: {e.Message}"); }
    }

    /// <summary>Kernel segments, initrd, command line and boot_params into guest memory; returns the entry point.</summary>
    private ulong LoadKernel(byte[]? initrd)
    {
        byte[] cmdline = System.Text.Encoding.ASCII.GetBytes(KernelCommandLine);
        ulong initrdAddress = KernelLoader.Load(_memory, _config.MemoryBytes, Kernel, initrd, cmdline);
        _log.Debug("Loaded {Format} kernel {Path}, entry 0x{Entry:x}, initrd at 0x{Initrd:x}; cmdline: {Cmdline}",
            Kernel.Format, Kernel.Path, Kernel.EntryPoint, initrdAddress, KernelCommandLine);
        return Kernel.EntryPoint;
    }

    /// <summary>Runs the vCPUs until the guest or the host stops the VM; returns why.</summary>
    public StopReason Run()
    {
        _io.Start();
        foreach (var v in _vcpus) v.Start();
        bool stopped = _config.TimeoutSeconds > 0
            ? _stopped.Wait(TimeSpan.FromSeconds(_config.TimeoutSeconds))
            : _stopped.Wait(Timeout.Infinite);
        if (!stopped)
            RequestStop(new StopReason(StopKind.Timeout, Detail: $"guest still running after {_config.TimeoutSeconds} s"));
        foreach (var v in _vcpus) v.Kick();
        foreach (var v in _vcpus)
            if (!v.Join(TimeSpan.FromSeconds(5)))
                _log.Warning("vCPU {Id} did not leave KVM_RUN within 5 s", v.Id);
        foreach (var v in _vcpus) Exits.Add(v.Exits);
        // vCPUs are out of KVM_RUN: finish the I/O thread's current batch, then make every
        // completed write durable before the process can exit.
        _io.Stop();
        foreach (var d in _disks)
            if (!d.ReadOnly && d.Flush() != 0)
                _log.Warning("fdatasync of {Path} failed at shutdown", d.Path);
        return _stopReason;
    }

    /// <summary>Records the first stop reason and wakes <see cref="Run"/>; later reasons are ignored.</summary>
    public void RequestStop(StopReason reason)
    {
        if (Interlocked.Exchange(ref _stopClaimed, 1) != 0) return;
        _stopReason = reason;
        Volatile.Write(ref _stopping, true);
        _stopped.Set();
        foreach (var v in _vcpus) v.Kick();
    }

    private bool _stopping;

    internal bool Stopping => Volatile.Read(ref _stopping);

    internal TimeSpan Elapsed => _sinceStart.Elapsed;

    internal void OnFirstRun()
    {
        lock (_vcpus)
        {
            if (FirstRunAt is not null) return;
            FirstRunAt = _sinceStart.Elapsed;
        }
        _log.Debug("First KVM_RUN {Ms:F1} ms after csvmm started", FirstRunAt.Value.TotalMilliseconds);
    }

    private void OnGuestReset()
    {
        if (Console.PanicSeen)
            RequestStop(new StopReason(StopKind.GuestPanic, Detail: "guest kernel panicked"));
        else
            RequestStop(new StopReason(StopKind.GuestReset, Detail: "guest reset through the i8042"));
    }

    private void OnGuestExit(int status) =>
        RequestStop(new StopReason(StopKind.GuestExitStatus, status, $"guest reported exit status {status}"));

    private void OnGuestMark(byte value)
    {
        var t = _sinceStart.Elapsed;
        if (value == GuestControl.BootCompleteMark)
        {
            BootMarkAt ??= t;
            _log.Information("Guest boot-time marker after {Ms:F0} ms", t.TotalMilliseconds);
        }
        else
        {
            _log.Information("Guest mark {Value} after {Ms:F0} ms", value, t.TotalMilliseconds);
        }
    }

    private void DisposeKvm()
    {
        _io.Dispose();
        foreach (var v in _vcpus) v.Dispose();
        foreach (var d in _owned) d.Dispose();
        foreach (var d in _disks) d.Dispose();
        foreach (var t in _taps) t.Dispose();
        _memory?.Dispose();
        _vm?.Dispose();
        _kvm?.Dispose();
    }

    public void Dispose()
    {
        DisposeKvm();
        _stopped.Dispose();
    }
}

/// <summary>A block device as the guest sees it (vda, vdb, ...), for counters and logs.</summary>
public sealed record VirtioBlockInfo(string GuestName, string Path, BlockDevice Device, VirtioMmioTransport Transport, ulong MmioBase, uint Gsi);

/// <summary>A network interface as the guest sees it (eth0, ...), for counters and logs.</summary>
public sealed record VirtioNetInfo(string GuestName, string Tap, MacAddress Mac, NetDevice Device, VirtioMmioTransport Transport, ulong MmioBase, uint Gsi);

/// <summary>The configuration cannot work (memory too small, too many vCPUs, ...).</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) { }
}
