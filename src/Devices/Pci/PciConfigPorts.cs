using System.Buffers.Binary;
using Csvmm.Devices.Bus;

namespace Csvmm.Devices.Pci;

/// <summary>
/// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2): CONFIG_ADDRESS at
/// port 0xCF8 (enable bit 31, bus 23:16, device 15:11, function 10:8, register 7:2) and
/// CONFIG_DATA at 0xCFC-0xCFF. Linux without ACPI finds the bus this way (arch/x86/pci/direct.c:
/// pci_check_type1 writes 0x80000000 to 0xCF8 and expects to read it back). Only bus 0 exists.
/// Register this device at port 0xCF8 with length 8.
/// </summary>
public sealed class PciConfigPorts(PciBus bus) : IBusDevice
{
    public const ushort BasePort = 0xCF8;
    public const ushort Length = 8;
    private const uint Enable = 1u << 31;

    private uint _address;

    public void Read(ulong offset, Span<byte> data)
    {
        if (offset < 4)
        {
            // CONFIG_ADDRESS is only meaningful as a dword; narrower reads see its bytes.
            Span<byte> a = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(a, Volatile.Read(ref _address));
            CopyWindow(a, (int)offset, data);
            return;
        }
        if (!TryTarget((int)offset - 4, data.Length, out int device, out int function, out int register))
        {
            data.Fill(0xFF);
            return;
        }
        bus.Read(device, function, register, data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset < 4)
        {
            // Only a dword write sets CONFIG_ADDRESS; byte writes to 0xCF8-0xCFB are other chipset
            // registers (Linux probes with outb(0x01, 0xCFB)) and are ignored here.
            if (offset == 0 && data.Length == 4)
                Volatile.Write(ref _address, BinaryPrimitives.ReadUInt32LittleEndian(data) & 0x80FFFFFC);
            return;
        }
        if (TryTarget((int)offset - 4, data.Length, out int device, out int function, out int register))
            bus.Write(device, function, register, data);
    }

    /// <summary>Decodes CONFIG_ADDRESS for a data access <paramref name="byteOffset"/> bytes into CONFIG_DATA.</summary>
    private bool TryTarget(int byteOffset, int length, out int device, out int function, out int register)
    {
        uint a = Volatile.Read(ref _address);
        device = (int)(a >> 11) & 0x1F;
        function = (int)(a >> 8) & 0x7;
        register = (int)(a & 0xFC) + byteOffset;
        int bus = (int)(a >> 16) & 0xFF;
        return (a & Enable) != 0 && bus == 0 && byteOffset + length <= 4;
    }

    private static void CopyWindow(ReadOnlySpan<byte> source, int offset, Span<byte> data)
    {
        data.Fill(0xFF);
        int n = Math.Min(data.Length, source.Length - offset);
        if (n > 0) source.Slice(offset, n).CopyTo(data);
    }
}
