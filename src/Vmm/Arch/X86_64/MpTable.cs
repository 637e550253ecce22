using System.Buffers.Binary;
using System.Text;

namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>
/// The Intel MultiProcessor Specification 1.4 table (read by arch/x86/kernel/mpparse.c) that tells a guest without ACPI
/// its CPUs, the IOAPIC and how ISA IRQs are wired: a floating pointer, then the configuration table
/// with processor, bus, IOAPIC, I/O-interrupt and local-interrupt entries, each group in that order.
/// With a PCI bus it comes first as bus 0 (a PCI bus entry's id is its PCI bus number, which
/// mpparse.c compares with srcbus of PCI interrupt entries) and ISA is bus 1. PCI devices use
/// MSI-X, so there are no PCI interrupt entries.
/// </summary>
public static class MpTable
{
    private const int FloatingPointerSize = 16;
    private const int HeaderSize = 44;
    private const int ProcessorEntrySize = 20;
    private const int EntrySize = 8;

    private const byte EntryProcessor = 0, EntryBus = 1, EntryIoApic = 2, EntryIoInterrupt = 3, EntryLocalInterrupt = 4;
    private const byte ApicVersion = 0x14;
    private const byte CpuEnabled = 1, CpuBootstrap = 2;
    private const uint CpuSignature = 0x600;   // family 6
    private const uint CpuFeatures = 0x201;    // APIC | FPU
    private const byte IntTypeInt = 0, IntTypeNmi = 1, IntTypeExtInt = 3;
    private const byte AllLapics = 0xFF;

    /// <summary>Largest vCPU count whose table (with room for both buses) fits the reserved area.</summary>
    public static int MaxCpus => (int)((Layout.MpTableMaxSize - FloatingPointerSize - HeaderSize - EntrySize * (3 + Layout.IoApicPins + 2)) / ProcessorEntrySize);

    /// <summary>The IOAPIC's id: after every CPU's APIC id.</summary>
    public static byte IoApicId(int cpus) => (byte)cpus;

    /// <summary>Bytes to place at <paramref name="address"/> (floating pointer first, table right after).</summary>
    public static byte[] Build(int cpus, ulong address = Layout.MpTableAddress, bool pciBus = false)
    {
        if (cpus < 1 || cpus > MaxCpus)
            throw new ArgumentOutOfRangeException(nameof(cpus), $"MP table supports 1..{MaxCpus} CPUs");
        int buses = pciBus ? 2 : 1;
        byte isaBus = (byte)(buses - 1);
        int entries = cpus + buses + 1 + (int)Layout.IoApicPins + 2;
        int tableLength = HeaderSize + cpus * ProcessorEntrySize + (entries - cpus) * EntrySize;
        var bytes = new byte[FloatingPointerSize + tableLength];
        var fp = bytes.AsSpan(0, FloatingPointerSize);
        var table = bytes.AsSpan(FloatingPointerSize);
        ulong tableAddress = address + FloatingPointerSize;

        Encoding.ASCII.GetBytes("_MP_").CopyTo(fp);
        BinaryPrimitives.WriteUInt32LittleEndian(fp[4..], (uint)tableAddress);
        fp[8] = 1;  // length in 16-byte units
        fp[9] = 4;  // spec revision 1.4
        fp[10] = Checksum(fp);

        Encoding.ASCII.GetBytes("PCMP").CopyTo(table);
        BinaryPrimitives.WriteUInt16LittleEndian(table[4..], (ushort)tableLength);
        table[6] = 4;
        Encoding.ASCII.GetBytes("CSVMM   ").CopyTo(table[8..]);
        Encoding.ASCII.GetBytes("000000000000").CopyTo(table[16..]);
        BinaryPrimitives.WriteUInt16LittleEndian(table[34..], (ushort)entries);
        BinaryPrimitives.WriteUInt32LittleEndian(table[36..], (uint)Layout.LapicAddress);

        int o = HeaderSize;
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            var e = table.Slice(o, ProcessorEntrySize);
            e[0] = EntryProcessor;
            e[1] = (byte)cpu;
            e[2] = ApicVersion;
            e[3] = (byte)(CpuEnabled | (cpu == 0 ? CpuBootstrap : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], CpuSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], CpuFeatures);
            o += ProcessorEntrySize;
        }

        if (pciBus)
        {
            var pci = table.Slice(o, EntrySize);
            pci[0] = EntryBus;
            pci[1] = 0;
            Encoding.ASCII.GetBytes("PCI   ").CopyTo(pci[2..]);
            o += EntrySize;
        }
        var bus = table.Slice(o, EntrySize);
        bus[0] = EntryBus;
        bus[1] = isaBus;
        Encoding.ASCII.GetBytes("ISA   ").CopyTo(bus[2..]);
        o += EntrySize;

        byte ioApicId = IoApicId(cpus);
        var ioapic = table.Slice(o, EntrySize);
        ioapic[0] = EntryIoApic;
        ioapic[1] = ioApicId;
        ioapic[2] = ApicVersion;
        ioapic[3] = 1; // usable
        BinaryPrimitives.WriteUInt32LittleEndian(ioapic[4..], (uint)Layout.IoApicAddress);
        o += EntrySize;

        // ISA IRQ i -> IOAPIC pin i; flags 0 = conforms to the bus (ISA: edge, active high),
        // matching irqfd's edge pulses.
        for (int pin = 0; pin < Layout.IoApicPins; pin++)
        {
            var e = table.Slice(o, EntrySize);
            e[0] = EntryIoInterrupt;
            e[1] = IntTypeInt;
            e[4] = isaBus;
            e[5] = (byte)pin;
            e[6] = ioApicId;
            e[7] = (byte)pin;
            o += EntrySize;
        }

        var extint = table.Slice(o, EntrySize);
        extint[0] = EntryLocalInterrupt;
        extint[1] = IntTypeExtInt;
        extint[6] = 0;    // BSP's LAPIC
        extint[7] = 0;    // LINT0
        o += EntrySize;

        var nmi = table.Slice(o, EntrySize);
        nmi[0] = EntryLocalInterrupt;
        nmi[1] = IntTypeNmi;
        nmi[6] = AllLapics;
        nmi[7] = 1;       // LINT1
        o += EntrySize;

        table[7] = Checksum(table[..tableLength]);
        return bytes;
    }

    /// <summary>The byte that makes <paramref name="data"/> (with that byte still zero) sum to 0 mod 256.</summary>
    public static byte Checksum(ReadOnlySpan<byte> data)
    {
        byte sum = 0;
        foreach (byte b in data) sum += b;
        return (byte)(0 - sum);
    }
}
