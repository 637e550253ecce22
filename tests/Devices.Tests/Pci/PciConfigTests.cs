using System.Buffers.Binary;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Pci;
using Xunit;

namespace Csvmm.Devices.Tests.Pci;

/// <summary>Configuration mechanism #1, the type-0 header, BAR sizing and BAR placement.</summary>
public sealed class PciConfigTests
{
    private sealed class Function : IPciFunction
    {
        public Function()
        {
            Config = new PciConfigSpace(0x1AF4, 0x1042, 0x010000, 1, 0x1AF4, 0x1042);
            Bar = new PciBar(0, 0x8000);
            Config.AddBar64(Bar, 0xE0000000);
        }

        public PciBar Bar { get; }
        public string Name => "test";
        public PciConfigSpace Config { get; }
        public IBusDevice BarDevice(PciBar bar) => throw new NotSupportedException();
    }

    private readonly PciBus _bus = new();
    private readonly PciConfigPorts _ports;
    private readonly Function _f = new();
    private readonly FakeBarMapper _mapper = new();

    public PciConfigTests()
    {
        _bus.Add(new PciHostBridge());
        _bus.Add(_f);
        _f.Config.Attach(_f, _mapper);
        _ports = new PciConfigPorts(_bus);
    }

    private void SelectRegister(int device, int register) => Out32(0, 0x80000000u | (uint)(device << 11) | (uint)register);

    private void Out32(ulong port, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _ports.Write(port, b);
    }

    private uint In32(ulong port)
    {
        Span<byte> b = stackalloc byte[4];
        _ports.Read(port, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private uint ReadConfig(int device, int register)
    {
        SelectRegister(device, register);
        return In32(4);
    }

    private void WriteConfig(int device, int register, uint value)
    {
        SelectRegister(device, register);
        Out32(4, value);
    }

    /// <summary>arch/x86/pci/direct.c pci_check_type1: a dword written to 0xCF8 reads back; a byte to 0xCFB does not disturb it.</summary>
    [Fact]
    public void Config_address_reads_back_as_linux_probes_it()
    {
        _ports.Write(3, [0x01]);
        Out32(0, 0x80000000);
        Assert.Equal(0x80000000u, In32(0));
    }

    [Fact]
    public void Host_bridge_and_device_are_found_and_empty_slots_read_all_ones()
    {
        Assert.Equal(0x0008_1B36u, ReadConfig(0, 0));
        Assert.Equal(0x06u, ReadConfig(0, 8) >> 24);
        Assert.Equal(0x1042_1AF4u, ReadConfig(1, 0));
        Assert.Equal(0xFFFFFFFFu, ReadConfig(2, 0));
        Out32(0, 0x00000800); // enable bit clear
        Assert.Equal(0xFFFFFFFFu, In32(4));
        Out32(0, 0x80010800); // bus 1 does not exist
        Assert.Equal(0xFFFFFFFFu, In32(4));
    }

    [Fact]
    public void Narrow_accesses_reach_the_right_byte_of_the_register()
    {
        SelectRegister(1, 0);
        Span<byte> b = stackalloc byte[2];
        _ports.Read(6, b); // device ID, bytes 2-3 of the dword
        Assert.Equal(0x1042, BinaryPrimitives.ReadUInt16LittleEndian(b));
    }

    /// <summary>Writing all-ones to a 64-bit BAR reads back its size (PCI 3.0 §6.2.5.1), and the original value restores it.</summary>
    [Fact]
    public void Bar_sizing_reads_back_the_size_mask_and_restores()
    {
        WriteConfig(1, 0x04, 0); // decoding off, as Linux does around sizing
        WriteConfig(1, 0x10, 0xFFFFFFFF);
        WriteConfig(1, 0x14, 0xFFFFFFFF);
        Assert.Equal(0xFFFF8004u, ReadConfig(1, 0x10));
        Assert.Equal(0xFFFFFFFFu, ReadConfig(1, 0x14));
        WriteConfig(1, 0x10, 0xE0000000);
        WriteConfig(1, 0x14, 0);
        WriteConfig(1, 0x04, PciConfigSpace.CommandMemorySpace);
        Assert.Equal(0xE0000004u, ReadConfig(1, 0x10));
        Assert.Equal(0xE0000000UL, _f.Bar.MappedAt);
        Assert.Equal(["map 0 0xe0000000", "unmap 0", "map 0 0xe0000000"], _mapper.Calls);
    }

    [Fact]
    public void A_bar_moved_onto_ram_is_refused_counted_and_decodes_nowhere()
    {
        WriteConfig(1, 0x10, 0x00100000); // 1 MiB: guest RAM
        Assert.Null(_f.Bar.MappedAt);
        Assert.Equal(1, _f.Config.Counters.RefusedBarPlacements.Value);
        WriteConfig(1, 0x10, 0xE1000000); // back into the PCI window
        Assert.Equal(0xE1000000UL, _f.Bar.MappedAt);
    }

    [Fact]
    public void Identification_registers_are_read_only()
    {
        WriteConfig(1, 0, 0x12345678);
        Assert.Equal(0x1042_1AF4u, ReadConfig(1, 0));
        Assert.True(_f.Config.Counters.ReadOnlyWrites.Value > 0);
    }
}
