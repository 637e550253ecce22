using System.Diagnostics;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Legacy;
using Csvmm.Devices.Metrics;
using Csvmm.Devices.Pci;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Devices.Virtio.Mmio;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Devices.Virtio.Pci;
using Csvmm.Host.Memory;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Boot;
using Csvmm.Vmm.Config;
using Csvmm.Vmm.Machine;
using Csvmm.Vmm.Snapshot;
using Serilog;

namespace Csvmm.Vmm.Builder;

/// <summary>
/// The one place a VM is composed, top to bottom: inputs (kernel, initrd, disks, TAPs) first so a
/// bad file fails before KVM is touched, then KVM and guest memory, legacy devices, virtio devices
/// (all through <see cref="AttachVirtio"/>), the kernel and boot structures, and the vCPUs.
/// Everything opened is released again if a later step fails. The configuration was checked by
/// <see cref="VmConfigValidator"/> before this runs.
/// </summary>
public sealed class VmBuilder
{
    private readonly VmConfig _config;
    private readonly ILogger _log;
    private readonly ConsoleOutput _console;
    private readonly Stopwatch _sinceStart;
    private readonly HostQuirks _quirks;
    private readonly List<IDisposable> _owned = [];
    private readonly List<AttachedVirtioDevice> _virtio = [];
    private readonly List<IVcpu> _vcpus = [];
    private Task? _memorySlots;
    private readonly ResourceAllocator _resources = new();
    private VirtualMachine? _vm;

    private KvmSystem _kvm = null!;
    private KvmVm _kvmVm = null!;
    private GuestMemory _memory = null!;
    private DeviceBus _pio = null!;
    private DeviceBus _mmio = null!;
    private Serial16550 _serial = null!;
    private I8042Controller _i8042 = null!;
    private PciBus? _pciBus;
    private MsiRouter? _msi;
    private PciBarMapper? _barMapper;

    private bool Pci => _config.Transport == VirtioTransportKind.Pci;

    private VmBuilder(VmConfig config, ILogger log, ConsoleOutput console, Stopwatch sinceStart, HostQuirks quirks)
    {
        _config = config;
        _log = log;
        _console = console;
        _sinceStart = sinceStart;
        _quirks = quirks;
    }

    /// <summary>
    /// Builds the VM <paramref name="config"/> describes. Throws the typed exceptions the CLI maps to
    /// exit codes (BootException, BlockBackendException, TapException, KvmException, ...).
    /// </summary>
    public static VirtualMachine Build(VmConfig config, ILogger log, ConsoleOutput console, Stopwatch sinceStart, HostQuirks? quirks = null) =>
        new VmBuilder(config, log, console, sinceStart, quirks ?? HostQuirks.Detect()).Build();

    private VirtualMachine Build()
    {
        try
        {
            var snapshot = _config.RestoreFrom?.Contents;
            using var kernel = snapshot is null ? KernelImage.Load(_config.KernelPath) : null;
            using var initrd = snapshot is null && _config.InitrdPath is { } path ? ImageSource.Open(path, "initrd") : null;
            var disks = _config.Disks.Select(d => Own(BlockBackend.Open(d.Path, d.ReadOnly, _log))).ToList();
            if (snapshot is not null) CheckDisksMatch(snapshot, disks);
            var taps = _config.Nets.Select(n => Own(TapBackend.Open(n.Tap))).ToList();

            CreateKvmVm();
            if (snapshot is null) CreateMemory();
            else MapSnapshotMemory(_config.RestoreFrom!);
            AttachLegacyDevices();
            if (Pci) CreatePciBus();
            for (int i = 0; i < disks.Count; i++)
                AttachDisk(i, disks[i], _config.Disks[i]);
            for (int i = 0; i < taps.Count; i++)
                AttachNet(i, taps[i], _config.Nets[i]);

            string cmdline;
            List<IVcpu> vcpus;
            if (snapshot is null)
            {
                cmdline = KernelCmdline.Build(_virtio.Where(v => v.MmioWindow is not null).Select(v => v.MmioWindow!.Value),
                    _config.Disks.Count > 0 ? _config.Disks[0].ReadOnly : null, _config.Cmdline, _config.CmdlineReplacesBase, pci: Pci,
                    rootArgument: _config.RootArgument);
                ulong entry = LoadKernel(kernel!, initrd, cmdline);
                bool pvh = kernel!.Format == KernelFormat.Pvh;
                ulong cr3 = WriteBootStructures(pvh);
                AwaitMemorySlots();
                vcpus = CreateVcpus(entry, cr3, pvh);
            }
            else
            {
                cmdline = snapshot.KernelCommandLine;
                RestoreDevices(snapshot);
                vcpus = RestoreVcpus(snapshot);
                // Kicks and interrupts in flight at the snapshot are in no saved state: repeat them
                // (a spurious one is harmless) once the interrupt controllers are back.
                foreach (var v in _virtio) v.Transport.KickAfterRestore();
            }

            var parts = new VmParts(_kvmVm, vcpus, new VcpuExitHandler(_pio, _mmio), _virtio, _owned, _memory, _pio, _mmio, _serial, _i8042, cmdline);
            _vm = new VirtualMachine(_config, _log, _sinceStart, parts);
            return _vm;
        }
        catch
        {
            // The slot thread holds the VM and the mapping: let it finish before they go.
            try { _memorySlots?.Wait(); } catch (AggregateException) { }
            foreach (var v in _virtio) v.Worker.Dispose();
            foreach (var v in _vcpus) v.Dispose();
            for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
            throw;
        }
    }

    // ------------------------------------------------------------------ restoring a snapshot

    /// <summary>The images named at restore time must have the sizes the snapshot's disks had.</summary>
    private static void CheckDisksMatch(SnapshotContents snapshot, List<BlockBackend> disks)
    {
        for (int i = 0; i < disks.Count; i++)
        {
            if (disks[i].SizeBytes != snapshot.Disks[i].SizeBytes)
                throw new SnapshotException(SnapshotProblem.Mismatch,
                    $"disk {disks[i].Path} is {disks[i].SizeBytes} bytes, but the snapshot's disk {i} ({snapshot.Disks[i].Path}) was {snapshot.Disks[i].SizeBytes}: a restore needs an image of the same size");
        }
    }

    /// <summary>Guest RAM mapped copy-on-write from the snapshot's memory file (nothing is read up front).</summary>
    private void MapSnapshotMemory(SnapshotSource source)
    {
        var ranges = Layout.RamRegions(_config.MemoryBytes);
        ulong total = 0;
        foreach (var (_, size) in ranges) total += size;
        long length;
        try { length = new FileInfo(source.MemoryPath).Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { length = -1; }
        if (!File.Exists(source.MemoryPath))
            throw new SnapshotException(SnapshotProblem.Missing, $"snapshot memory file {source.MemoryPath} does not exist");
        if (length != (long)total)
            throw new SnapshotException(SnapshotProblem.Invalid,
                $"snapshot memory file {source.MemoryPath} is {length} bytes; the snapshot's guest had {total}");
        _memory = Own(GuestMemory.MapFile(source.MemoryPath, ranges));
        RegisterMemorySlots(_kvmVm, _memory);
    }

    /// <summary>Legacy and virtio devices back into their saved state; a virtio device that was live is activated again.</summary>
    private void RestoreDevices(SnapshotContents snapshot)
    {
        Restore(_serial, snapshot.Serial, "serial");
        Restore(_i8042, snapshot.I8042, "i8042");
        for (int i = 0; i < _virtio.Count; i++)
            Restore(_virtio[i].TransportState, snapshot.VirtioDevices[i], _virtio[i].Transport.Name);
    }

    private static void Restore(Devices.State.ISnapshotDevice device, byte[] state, string what)
    {
        try
        {
            var r = new Devices.State.StateReader(state);
            device.Restore(ref r);
            r.End(what);
        }
        catch (Devices.State.StateFormatException e)
        {
            throw new SnapshotException(SnapshotProblem.Invalid, $"snapshot state of {what} cannot be restored: {e.Message}");
        }
    }

    /// <summary>
    /// vCPUs created and put back into their saved state, then the VM's (the order
    /// Csvmm.Kvm.State documents). Every vCPU is checked against this host before any is written:
    /// a snapshot from another CPU is refused, not half restored.
    /// </summary>
    private List<IVcpu> RestoreVcpus(SnapshotContents snapshot)
    {
        var states = new List<Csvmm.Kvm.State.VcpuState>();
        try
        {
            foreach (var image in snapshot.VcpuStates) states.Add(Csvmm.Kvm.State.VcpuState.Deserialize(image));
            var vmState = Csvmm.Kvm.State.VmState.Deserialize(snapshot.VmState);
            var created = new List<KvmVcpu>();
            for (int id = 0; id < snapshot.Cpus; id++)
            {
                var vcpu = _kvmVm.CreateVcpu(id);
                _vcpus.Add(new KvmVcpuRunner(vcpu));
                created.Add(vcpu);
            }
            for (int id = 0; id < created.Count; id++) states[id].CheckRestorable(created[id]);
            for (int id = 0; id < created.Count; id++) states[id].Restore(created[id]);
            vmState.Restore(_kvmVm);
        }
        catch (Csvmm.Kvm.State.KvmStateFormatException e)
        {
            throw new SnapshotException(SnapshotProblem.Invalid, $"snapshot CPU state cannot be read: {e.Message}");
        }
        catch (Csvmm.Kvm.State.KvmStateMismatchException e)
        {
            throw new SnapshotException(SnapshotProblem.Mismatch, $"snapshot cannot be restored on this host: {e.Message}");
        }
        return _vcpus;
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>/dev/kvm, the capabilities csvmm relies on, a VM with the in-kernel irqchip and PIT.</summary>
    private void CreateKvmVm()
    {
        _kvm = Own(KvmSystem.Open(_config.KvmDevice));
        _kvm.RequireCapabilities(KvmCap.Irqchip, KvmCap.UserMemory, KvmCap.SetTssAddr, KvmCap.ExtCpuid,
            KvmCap.Pit2, KvmCap.Ioeventfd, KvmCap.Irqfd, KvmCap.MpState, KvmCap.ImmediateExit);
        _kvmVm = Own(_kvm.CreateVm());
        _kvmVm.SetTssAddress(Layout.TssAddress);
        if (_kvmVm.CheckExtension(KvmCap.SetIdentityMapAddr) > 0)
            _kvmVm.SetIdentityMapAddress(Layout.IdentityMapAddress);
        _kvmVm.CreateIrqchip();
        _kvmVm.CreatePit2(KvmPitConfig.SpeakerDummy);
    }

    /// <summary>
    /// Anonymous guest RAM, split around the MMIO hole, and its KVM memory slots registered on a second thread: the largest
    /// single step of start-up on some hosts (6.4 ms for 256 MiB under KVM's PVM backend, all of it
    /// in the kernel), and nothing before the first vCPU needs the slots, so devices attach and the
    /// kernel and initrd are read into RAM meanwhile. <see cref="AwaitMemorySlots"/> joins it.
    /// </summary>
    private void CreateMemory()
    {
        _memory = Own(GuestMemory.CreateAnonymous(Layout.RamRegions(_config.MemoryBytes)));
        var memory = _memory;
        var vm = _kvmVm;
        _memorySlots = Task.Run(() => RegisterMemorySlots(vm, memory));
    }

    /// <summary>One KVM memory slot per region of guest RAM.</summary>
    private static void RegisterMemorySlots(KvmVm vm, GuestMemory memory)
    {
        uint slot = 0;
        foreach (var r in memory.Regions)
            vm.SetUserMemoryRegion(slot++, r.GuestAddress, r.Size, r.HostAddress);
    }

    /// <summary>Waits for the slots <see cref="CreateMemory"/> registers; rethrows its KvmException.</summary>
    private void AwaitMemorySlots()
    {
        var slots = _memorySlots;
        _memorySlots = null;
        slots?.GetAwaiter().GetResult();
    }

    /// <summary>COM1 on its irqfd, the i8042 reset line, csvmm's guest-control page.</summary>
    private void AttachLegacyDevices()
    {
        _pio = new DeviceBus("pio", _log);
        _mmio = new DeviceBus("mmio", _log);
        _serial = new Serial16550(_console, Own(new IrqfdLine(_kvmVm, Layout.Com1Gsi)));
        _pio.Register(Layout.Com1Port, Layout.Com1Length, _serial, "serial0");
        _i8042 = new I8042Controller(() => _vm?.OnGuestReset(_console.PanicSeen), Own(new IrqfdLine(_kvmVm, Layout.KeyboardGsi)));
        _pio.Register(Layout.I8042Port, Layout.I8042Length, _i8042, "i8042");
        _mmio.Register(Layout.GuestControlAddress, Layout.GuestControlSize,
            new GuestControl(status => _vm?.OnGuestExit(status), mark => _vm?.OnGuestMark(mark), () => _vm?.OnGuestSnapshot()), "guest-control");
    }

    /// <summary>
    /// PCI bus 0 with the host bridge in slot 0, configuration mechanism #1 on ports 0xCF8-0xCFF,
    /// and MSI routing through KVM (virtio-pci devices interrupt with MSI-X only).
    /// </summary>
    private void CreatePciBus()
    {
        if (_kvmVm.CheckExtension(KvmCap.IrqRouting) <= 0)
            throw new KvmUnavailableException("KVM lacks KVM_CAP_IRQ_ROUTING, which virtio-pci's MSI-X needs; use --transport mmio", 0);
        _pciBus = new PciBus();
        _pciBus.Add(new PciHostBridge());
        _pio.Register(Layout.PciConfigPort, Layout.PciConfigLength, new PciConfigPorts(_pciBus), "pci-config");
        _msi = Own(new MsiRouter(_kvmVm));
        _barMapper = new PciBarMapper(_mmio, _kvmVm, _log);
    }

    private void AttachDisk(int index, BlockBackend backend, DiskConfig disk)
    {
        string name = $"vd{(char)('a' + index)}";
        var device = new BlockDevice(backend, disk.Id, _log);
        AttachVirtio(device, name, "virtio-blk", device.Counters, [new("path", disk.Path)]);
    }

    private void AttachNet(int index, TapBackend tap, NetConfig net)
    {
        var mac = net.Mac ?? MacAddress.FromName(tap.Name);
        var device = new NetDevice(tap, mac, _log);
        AttachVirtio(device, $"eth{index}", "virtio-net", device.Counters, [new("tap", tap.Name), new("mac", mac.ToString())]);
    }

    /// <summary>
    /// Every virtio device goes through here: its transport (a virtio-mmio window and GSI, or a
    /// virtio-pci function with a BAR and MSI-X), each queue's notification as a KVM ioeventfd
    /// (no vCPU exit), completions through an irqfd, and a device thread of its own.
    /// </summary>
    private void AttachVirtio(IVirtioDevice device, string guestName, string kind, CounterSet counters,
        KeyValuePair<string, string>[] labels)
    {
        string name = $"{kind} {guestName}";
        var core = Own(new VirtioTransportCore(device, _memory, _log, name));
        IReadOnlyList<CounterSet> transportCounters = [];
        (ulong, uint)? mmioWindow = null;
        Devices.State.ISnapshotDevice transportState;
        if (Pci)
        {
            var function = new VirtioPciTransport(core, _msi!, _resources.AllocatePciBar(VirtioPciTransport.BarSize), name);
            int slot = _pciBus!.Add(function);
            function.Config.Attach(function, _barMapper!);
            if (function.Bar.MappedAt is null)
                throw new InvalidOperationException($"{name}: BAR 0 could not be placed at 0x{function.Bar.Address:x}");
            transportCounters = [function.Config.Counters, function.Msix.Counters];
            transportState = function;
            labels = [.. labels, new("transport", "pci"), new("pciSlot", $"00:{slot:x2}.0")];
        }
        else
        {
            var (mmioBase, gsi) = _resources.AllocateVirtio();
            var transport = new VirtioMmioTransport(core, Own(new IrqfdLine(_kvmVm, gsi)));
            _mmio.Register(mmioBase, VirtioMmioTransport.WindowSize, transport, name);
            for (int q = 0; q < core.QueueCount; q++)
                _kvmVm.AssignIoeventfd(core.QueueEvent(q), mmioBase + VirtioMmioTransport.QueueNotifyOffset, 4, (ulong)q);
            mmioWindow = (mmioBase, gsi);
            transportState = transport;
            labels = [.. labels, new("transport", "mmio")];
        }
        var worker = new VirtioDeviceWorker(core, name, _log, (n, e) => _vm?.OnDeviceThreadFailed(n, e));
        _virtio.Add(new AttachedVirtioDevice(guestName, kind, labels, device, counters, core, transportCounters, worker, mmioWindow, transportState));
    }

    /// <summary>Kernel segments, initrd, command line and boot_params into guest memory; returns the entry point.</summary>
    private ulong LoadKernel(KernelImage kernel, ImageSource? initrd, string cmdline)
    {
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(cmdline);
        ulong initrdAddress = KernelLoader.Load(_memory, _config.MemoryBytes, kernel, initrd, bytes);
        _log.Debug("Loaded {Format} kernel {Path}, entry 0x{Entry:x}, initrd at 0x{Initrd:x}; cmdline: {Cmdline}",
            kernel.Format, kernel.Path, kernel.EntryPoint, initrdAddress, cmdline);
        return kernel.EntryPoint;
    }

    /// <summary>Identity-mapped page tables, the boot GDT (32-bit for a PVH entry) and the MP table; returns CR3.</summary>
    private ulong WriteBootStructures(bool pvh)
    {
        ulong cr3 = PageTables.Write(_memory);
        Gdt.Write(_memory, pvh ? Gdt.PvhEntries : null);
        _memory.Write(Layout.MpTableAddress, MpTable.Build(_config.Cpus, pciBus: Pci));
        return cr3;
    }

    private List<IVcpu> CreateVcpus(ulong entry, ulong cr3, bool pvh)
    {
        var supported = _kvm.GetSupportedCpuid();
        bool tscDeadline = _kvm.CheckExtension(KvmCap.TscDeadlineTimer) > 0;
        if (!_quirks.OfferPvHypercalls)
            _log.Debug("KVM PVM backend: PV IPIs, PV spinlock kicks and PV yield hidden from the guest");
        for (int id = 0; id < _config.Cpus; id++)
        {
            var vcpu = _kvmVm.CreateVcpu(id);
            _vcpus.Add(new KvmVcpuRunner(vcpu));
            VcpuSetup.Configure(vcpu, Cpuid.ForVcpu(supported, id, _config.Cpus, tscDeadline, _quirks.OfferPvHypercalls), entry, cr3, pvh);
        }
        return _vcpus;
    }
}
