using System.Buffers.Binary;
using System.Text;
using Csvmm.Vmm.Arch.X86_64;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class MpTableTests
{
    private static byte Sum(ReadOnlySpan<byte> b)
    {
        byte s = 0;
        foreach (var x in b) s += x;
        return s;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void Table_has_valid_checksums_and_one_processor_entry_per_cpu(int cpus)
    {
        var bytes = MpTable.Build(cpus);
        var fp = bytes.AsSpan(0, 16);
        Assert.Equal("_MP_", Encoding.ASCII.GetString(fp[..4]));
        Assert.Equal(0, Sum(fp));
        Assert.Equal((uint)(Layout.MpTableAddress + 16), BinaryPrimitives.ReadUInt32LittleEndian(fp[4..]));
        Assert.Equal(1, fp[8]);
        Assert.Equal(4, fp[9]);

        var table = bytes.AsSpan(16);
        Assert.Equal("PCMP", Encoding.ASCII.GetString(table[..4]));
        int length = BinaryPrimitives.ReadUInt16LittleEndian(table[4..]);
        Assert.Equal(table.Length, length);
        Assert.Equal(0, Sum(table[..length]));
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(table[34..]);
        Assert.Equal(cpus + 1 + 1 + 24 + 2, entries);
        Assert.Equal(0xFEE00000u, BinaryPrimitives.ReadUInt32LittleEndian(table[36..]));

        int o = 44;
        for (int cpu = 0; cpu < cpus; cpu++, o += 20)
        {
            Assert.Equal(0, table[o]);                 // processor
            Assert.Equal(cpu, table[o + 1]);           // APIC id
            Assert.Equal(cpu == 0 ? 3 : 1, table[o + 3]); // enabled (+ BSP on CPU 0)
        }
        Assert.Equal(1, table[o]);                     // bus
        Assert.Equal("ISA   ", Encoding.ASCII.GetString(table.Slice(o + 2, 6)));
        o += 8;
        Assert.Equal(2, table[o]);                     // IOAPIC
        Assert.Equal(cpus, table[o + 1]);              // id after the CPUs
        Assert.Equal(0xFEC00000u, BinaryPrimitives.ReadUInt32LittleEndian(table[(o + 4)..]));
        o += 8;
        for (int pin = 0; pin < 24; pin++, o += 8)
        {
            Assert.Equal(3, table[o]);
            Assert.Equal(pin, table[o + 5]);
            Assert.Equal(pin, table[o + 7]);
            Assert.Equal(cpus, table[o + 6]);
        }
        Assert.Equal(4, table[o]);                     // ExtINT -> LINT0
        Assert.Equal(3, table[o + 1]);
        Assert.Equal(0, table[o + 7]);
        Assert.Equal(4, table[o + 8]);                 // NMI -> LINT1 of all
        Assert.Equal(1, table[o + 9]);
        Assert.Equal(0xFF, table[o + 14]);
        Assert.Equal(1, table[o + 15]);
    }

    [Fact]
    public void Table_fits_its_reserved_area_for_the_largest_supported_count()
    {
        Assert.True((ulong)MpTable.Build(MpTable.MaxCpus).Length <= Layout.MpTableMaxSize);
        Assert.True((ulong)MpTable.Build(MpTable.MaxCpus, pciBus: true).Length <= Layout.MpTableMaxSize);
    }

    /// <summary>
    /// With PCI, bus 0 is the PCI bus (its MP id is its PCI bus number, which mpparse.c matches
    /// against PCI interrupt sources) and the ISA interrupts move to bus 1.
    /// </summary>
    [Fact]
    public void Pci_bus_is_bus_0_and_isa_interrupts_name_bus_1()
    {
        var table = MpTable.Build(1, pciBus: true).AsSpan(16);
        Assert.Equal(0, Sum(table[..BinaryPrimitives.ReadUInt16LittleEndian(table[4..])]));
        Assert.Equal(1 + 2 + 1 + 24 + 2, BinaryPrimitives.ReadUInt16LittleEndian(table[34..]));
        int o = 44 + 20;
        Assert.Equal((1, 0, "PCI   "), (table[o], table[o + 1], Encoding.ASCII.GetString(table.Slice(o + 2, 6))));
        Assert.Equal((1, 1, "ISA   "), (table[o + 8], table[o + 9], Encoding.ASCII.GetString(table.Slice(o + 10, 6))));
        int firstInterrupt = o + 8 + 8 + 8;
        Assert.Equal(3, table[firstInterrupt]);
        Assert.Equal(1, table[firstInterrupt + 4]); // source bus: ISA
    }

    [Fact]
    public void Zero_cpus_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => MpTable.Build(0));
}
