using System.Buffers.Binary;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Pci;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Devices.Virtio.Pci;
using Serilog;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// The PCI side of csvmm as a guest sees it: configuration mechanism #1 in front of a bus with the
/// host bridge and a virtio-blk-pci function, fed configuration reads and writes of any width at
/// any address (BAR sizing and moves, the command register, capabilities, MSI-X message control),
/// accesses anywhere in BAR 0 (common configuration, ISR, device configuration, notification area,
/// MSI-X table and PBA), interrupts from the device, and resets. Invariants: a BAR decodes only with
/// memory decoding on, only inside the PCI window and never over another BAR; an MSI route is only
/// ever a local-APIC address with fixed or lowest-priority delivery; nothing is delivered on a
/// vector that has no such route.
/// </summary>
public sealed class PciTarget : IFuzzTarget
{
    private const ulong WindowStart = 0xE0000000, WindowEnd = 0xFEC00000;

    private readonly FuzzMemory _memory = new(0x10000);
    private readonly ErrorSink _errors = new();
    private readonly ILogger _log;
    private readonly BlockBackend _backend;
    private readonly byte[] _access = new byte[8];
    private PciConfigPorts _ports = null!;
    private VirtioPciTransport _function = null!;
    private CheckingMsi _msi = null!;
    private CheckingMapper _mapper = null!;

    public PciTarget()
    {
        _log = new LoggerConfiguration().MinimumLevel.Error().WriteTo.Sink(_errors).CreateLogger();
        string path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(),
            $"csvmm-fuzz-pci-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[0x10000]);
        _backend = BlockBackend.Open(path, readOnly: false, _log);
        File.Delete(path);
    }

    public string Name => "pci";

    public string Description => "config-space accesses through 0xCF8/0xCFC, BAR 0 accesses, interrupts and resets";

    public void Run(ReadOnlySpan<byte> data)
    {
        // A fresh function per input: config space and BAR placement are state the guest leaves behind.
        _memory.Clear();
        _errors.Clear();
        _msi = new CheckingMsi();
        _mapper = new CheckingMapper();
        var core = new VirtioTransportCore(new BlockDevice(_backend, "fuzz", _log), _memory.Guest, _log);
        _function = new VirtioPciTransport(core, _msi, WindowStart, "fuzz");
        var bus = new PciBus();
        bus.Add(new PciHostBridge());
        bus.Add(_function);
        _function.Config.Attach(_function, _mapper);
        _ports = new PciConfigPorts(bus);

        var input = new FuzzInput(data);
        while (!input.IsEmpty)
        {
            byte op = input.U8();
            switch (op % 6)
            {
                case 0: // CONFIG_ADDRESS: bus, device, function, register, enable all fuzzed
                    Port(write: true, 0, 4, input.U32());
                    break;
                case 1: // CONFIG_DATA at any of its four bytes, any width
                    Port((op & 8) != 0, 4 + (ulong)(input.U8() & 3), Width(input.U8()), input.U32());
                    break;
                case 2: // a config write aimed at the function's own registers
                    Port(write: true, 0, 4, 0x80000800u | (uint)(input.U8() & 0xFC));
                    Port(write: true, 4, 4, input.U32());
                    break;
                case 3: // BAR 0, anywhere, any width
                    Bar((op & 8) != 0, (ulong)(input.U16() % VirtioPciTransport.BarSize), Width(input.U8()), input.U64());
                    break;
                case 4:
                    _function.SignalQueue(input.U8() % 3 - 1);
                    _function.SignalConfig();
                    break;
                default:
                    Bar(write: true, VirtioPciTransport.CommonOffset + 0x14, 1, input.U8()); // device_status
                    break;
            }
            CheckBars();
        }
        if (_errors.First is { } error) throw new FuzzInvariantException($"a component logged an error: {error}");
        core.Dispose();
    }

    private static int Width(byte b) => (b & 3) switch { 0 => 1, 1 => 2, 2 => 4, _ => 8 };

    private void Port(bool write, ulong offset, int width, ulong value)
    {
        var span = _access.AsSpan(0, Math.Min(width, 4));
        if (write)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_access, value);
            _ports.Write(offset, span);
        }
        else _ports.Read(offset, span);
    }

    private void Bar(bool write, ulong offset, int width, ulong value)
    {
        if (offset + (ulong)width > VirtioPciTransport.BarSize) return; // the bus would not route it here
        var span = _access.AsSpan(0, width);
        if (write)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_access, value);
            _function.Write(offset, span);
        }
        else _function.Read(offset, span);
    }

    private void CheckBars()
    {
        foreach (var bar in _function.Config.Bars)
        {
            if (bar.MappedAt is not { } at) continue;
            if (!_function.Config.MemoryEnabled)
                throw new FuzzInvariantException($"BAR {bar.Index} decodes at 0x{at:x} with memory decoding off");
            if (at < WindowStart || at + bar.Size > WindowEnd || at + bar.Size < at)
                throw new FuzzInvariantException($"BAR {bar.Index} decodes at 0x{at:x}, outside the PCI window");
        }
    }

    /// <summary>Checks that every route is a local-APIC message and that only routed vectors fire.</summary>
    private sealed class CheckingMsi : IMsiController
    {
        public IMsiVector CreateVector() => new Vector();

        private sealed class Vector : IMsiVector
        {
            private bool _routed;

            public void Route(ulong address, uint data)
            {
                if (address < 0xFEE00000 || address >= 0xFEF00000 || ((data >> 8) & 7) is not (0 or 1))
                    throw new FuzzInvariantException($"MSI route to 0x{address:x} data 0x{data:x} was installed");
                _routed = true;
            }

            public void Disable() => _routed = false;

            public void Trigger()
            {
                if (!_routed) throw new FuzzInvariantException("an MSI vector fired without a route");
            }
        }
    }

    /// <summary>Accepts placements inside the PCI window (as csvmm's mapper does) and records them.</summary>
    private sealed class CheckingMapper : IPciBarMapper
    {
        public bool TryMap(IPciFunction function, PciBar bar, ulong address) =>
            address >= WindowStart && address <= WindowEnd && bar.Size <= WindowEnd - address;

        public void Unmap(IPciFunction function, PciBar bar)
        {
            if (bar.MappedAt is null) throw new FuzzInvariantException("unmapping a BAR that is not mapped");
        }
    }
}
