using Csvmm.Devices.Bus;
using Csvmm.Kvm;
using Csvmm.Vmm.Machine;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Machine;

/// <summary>The dispatch from a vCPU exit to the buses and stop reasons, with synthetic exits (no KVM).</summary>
public sealed class VcpuExitHandlerTests
{
    private sealed class Recorder : IBusDevice
    {
        public readonly List<(ulong Offset, byte[] Data, bool Write)> Accesses = [];
        public void Read(ulong offset, Span<byte> data)
        {
            data.Fill(0x5A);
            Accesses.Add((offset, data.ToArray(), false));
        }
        public void Write(ulong offset, ReadOnlySpan<byte> data) => Accesses.Add((offset, data.ToArray(), true));
    }

    private readonly DeviceBus _pio = new("pio");
    private readonly DeviceBus _mmio = new("mmio");
    private readonly Recorder _port = new();
    private readonly Recorder _window = new();
    private readonly VcpuExitHandler _handler;
    private readonly FakeVcpu _vcpu = new(3);

    public VcpuExitHandlerTests()
    {
        _pio.Register(0x3F8, 8, _port, "uart");
        _mmio.Register(0xD0000000, 0x1000, _window, "window");
        _handler = new VcpuExitHandler(_pio, _mmio);
    }

    [Fact]
    public void Rep_outs_reaches_the_port_once_per_item()
    {
        byte[] data = [1, 2, 3];
        var stop = _handler.Handle(new VcpuExit { Reason = KvmExitReason.Io, IoPort = 0x3F8, IoIsOut = true, IoSize = 1, IoData = data }, _vcpu);
        Assert.Null(stop);
        Assert.Equal(3, _port.Accesses.Count);
        Assert.All(_port.Accesses, a => Assert.True(a.Write && a.Offset == 0));
        Assert.Equal([1, 2, 3], _port.Accesses.Select(a => a.Data[0]));
    }

    [Fact]
    public void Mmio_read_is_answered_by_the_device_at_its_offset()
    {
        var data = new byte[4];
        Assert.Null(_handler.Handle(new VcpuExit { Reason = KvmExitReason.Mmio, MmioAddress = 0xD0000070, MmioData = data }, _vcpu));
        Assert.Equal(0x70UL, Assert.Single(_window.Accesses).Offset);
        Assert.Equal([0x5A, 0x5A, 0x5A, 0x5A], data);
    }

    [Fact]
    public void Mmio_read_nobody_claims_reads_all_ones()
    {
        var data = new byte[2];
        Assert.Null(_handler.Handle(new VcpuExit { Reason = KvmExitReason.Mmio, MmioAddress = 0xE0000000, MmioData = data }, _vcpu));
        Assert.Equal([0xFF, 0xFF], data);
        Assert.Equal(1, _mmio.UnclaimedReads);
    }

    [Theory]
    [InlineData(KvmExitReason.Hlt, StopKind.GuestReset)]
    [InlineData(KvmExitReason.Shutdown, StopKind.TripleFault)]
    [InlineData(KvmExitReason.FailEntry, StopKind.FailEntry)]
    [InlineData(KvmExitReason.Exception, StopKind.UnknownExit)]
    public void Exits_without_a_handler_stop_the_vm(KvmExitReason reason, StopKind expected)
    {
        var stop = _handler.Handle(new VcpuExit { Reason = reason }, _vcpu);
        Assert.Equal(expected, stop?.Kind);
        Assert.Contains("vCPU 3", stop?.Detail);
    }

    [Theory]
    [InlineData(2u, StopKind.GuestReset)]
    [InlineData(3u, StopKind.GuestPanic)]
    [InlineData(1u, StopKind.SystemEvent)]
    public void System_events_map_to_their_stop_reason(uint type, StopKind expected) =>
        Assert.Equal(expected, _handler.Handle(new VcpuExit { Reason = KvmExitReason.SystemEvent, SystemEventType = type }, _vcpu)?.Kind);

    [Fact]
    public void Emulation_failure_reports_rip_and_exactly_the_instruction_bytes()
    {
        byte[] insn = [0xF3, 0x48, 0x0F, 0xB8, 0x03];
        var stop = _handler.Handle(new VcpuExit { Reason = KvmExitReason.InternalError, InternalSuberror = 1, InstructionBytes = insn }, _vcpu);
        Assert.Equal(StopKind.EmulationFailure, stop?.Kind);
        Assert.EndsWith("at RIP 0x1000, instruction bytes: f3 48 0f b8 03", stop?.Detail);
    }

    [Fact]
    public void Emulation_failure_without_bytes_says_so()
    {
        var stop = _handler.Handle(new VcpuExit { Reason = KvmExitReason.InternalError, InternalSuberror = 1 }, _vcpu);
        Assert.EndsWith("instruction bytes not available", stop?.Detail);
    }
}
