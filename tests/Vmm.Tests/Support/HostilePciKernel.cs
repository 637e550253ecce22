namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// A hand-assembled guest that attacks csvmm's PCI side, with csvmm's first --disk as the
/// virtio-blk-pci function at 00:01.0 (BAR 0 at 0xE0000000): garbage in every configuration-space
/// dword of every slot at every width, its BAR moved onto RAM, the guest-control page, the IOAPIC,
/// the LAPIC, across the end of the PCI window and onto the host bridge's slot neighbour, MSI-X
/// entries aimed outside the local APIC range or at SMI/INIT with MSI-X enabled and unmasked, and
/// garbage in the common configuration, the ISR, the notification area, the MSI-X table and the PBA.
/// It then puts BAR 0 back at 0xE0000000, reads num_queues through it, and reports
/// 40 + num_queues through the guest-control page: 41 proves csvmm survived, the guest-control page
/// was never covered by the BAR, and the BAR decodes where the guest finally put it.
/// </summary>
public static class HostilePciKernel
{
    public const byte ExpectedExit = 41;
    private const uint Bar = 0xE0000000;
    private const uint GuestControl = 0xC0000000;
    private const ushort ConfigAddress = 0xCF8, ConfigData = 0xCFC;

    public static byte[] Build()
    {
        var c = new Code();
        // 1. Every config dword of slots 0-2 (host bridge, the disk, nothing) and of bus 1, three patterns.
        foreach (uint pattern in new uint[] { 0xDEADBEEF, 0xFFFFFFFF, 0x00000001 })
            foreach (uint device in new uint[] { 0, 1, 2 })
                for (uint reg = 0; reg < 0x100; reg += 4)
                    ConfigWrite(c, 0, device, reg, pattern);
        for (uint reg = 0; reg < 0x40; reg += 4) ConfigWrite(c, 1, 1, reg, 0xFFFFFFFF);
        // Narrow and unaligned data-port accesses.
        c.OutL(ConfigAddress, Address(0, 1, 0x04));
        c.OutB(ConfigData + 1, 0xFF);
        c.OutW(ConfigData + 2, 0xFFFF);
        c.OutB(ConfigAddress + 3, 0x01);

        // 2. BAR 0 moved onto RAM, the guest-control page, the IOAPIC, the LAPIC, across the end of
        //    the PCI window, with memory decoding on each time.
        foreach (uint target in new uint[] { 0x00100000, GuestControl, 0xFEC00000, 0xFEE00000, 0xFEBFC000, 0xD0000000 })
        {
            ConfigWrite(c, 0, 1, 0x10, target);
            ConfigWrite(c, 0, 1, 0x14, 0);
            ConfigWrite(c, 0, 1, 0x04, 0x6); // memory + bus master
        }

        // 3. Back at 0xE0000000, then MSI-X: entries aimed outside the LAPIC range, at SMI and at
        //    INIT, all unmasked, MSI-X enabled (message control bit 15 in the capability at 0x40 +
        //    4 vendor capabilities... found by walking would need loops; csvmm puts it last, after
        //    the four 16/20-byte virtio capabilities at 0x40, 0x50, 0x64 and 0x74: at 0x84).
        ConfigWrite(c, 0, 1, 0x10, Bar);
        ConfigWrite(c, 0, 1, 0x14, 0);
        ConfigWrite(c, 0, 1, 0x04, 0x6);
        WriteEntry(c, 0, GuestControl, 0x31);
        WriteEntry(c, 1, 0xFEE00000, 0x231); // SMI
        WriteEntry(c, 2, 0xFEE00000, 0x531); // INIT (the table has 2 entries: this one is beyond it)
        ConfigWrite(c, 0, 1, 0x84, 0x8000_0011); // MSI-X enable in message control
        // Garbage everywhere in BAR 0: common config, ISR, device config, notify area, table, PBA.
        foreach (uint region in new uint[] { 0x0000, 0x1000, 0x2000, 0x3000, 0x4000, 0x5000 })
            for (uint off = 0; off < 0x40; off += 4)
                if (region != 0 || off != 0x14) c.Store32(Bar + region + off, 0xDEADBEEF);
        c.Store16(Bar + 0x13, 0xFFFF);           // straddles num_queues and device_status
        c.Store32(Bar + 0x4002, 0x12345678);     // a misaligned table write
        c.Store8(Bar + 0x14, 0x0F);              // device_status without FEATURES_OK acceptance

        // 4. BAR 0 must decode at 0xE0000000 again: report 40 + num_queues.
        ConfigWrite(c, 0, 1, 0x10, Bar);
        ConfigWrite(c, 0, 1, 0x04, 0x6);
        c.ReportByte(Bar + 0x12, GuestControl, 40);
        return TinyKernel.Elf(c.ToArray());
    }

    private static uint Address(uint bus, uint device, uint reg) => 0x80000000 | (bus << 16) | (device << 11) | reg;

    private static void ConfigWrite(Code c, uint bus, uint device, uint reg, uint value)
    {
        c.OutL(ConfigAddress, Address(bus, device, reg));
        c.OutL(ConfigData, value);
    }

    private static void WriteEntry(Code c, uint vector, uint address, uint data)
    {
        uint entry = Bar + 0x4000 + 16 * vector;
        c.Store32(entry, address);
        c.Store32(entry + 4, 0);
        c.Store32(entry + 8, data);
        c.Store32(entry + 12, 0); // unmasked
    }

    private sealed class Code
    {
        private readonly List<byte> _b = [];

        public byte[] ToArray() => [.. _b];

        private void Emit(params byte[] bytes) => _b.AddRange(bytes);

        private void Imm32(uint v) => Emit((byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24));

        private void MovDx(ushort port) => Emit(0x66, 0xBA, (byte)port, (byte)(port >> 8)); // mov dx, imm16

        private void MovEax(uint value)
        {
            Emit(0xB8); // mov eax, imm32 (zero-extends into rax)
            Imm32(value);
        }

        public void OutL(ushort port, uint value)
        {
            MovDx(port);
            MovEax(value);
            Emit(0xEF); // out dx, eax
        }

        public void OutW(ushort port, ushort value)
        {
            MovDx(port);
            MovEax(value);
            Emit(0x66, 0xEF); // out dx, ax
        }

        public void OutB(ushort port, byte value)
        {
            MovDx(port);
            MovEax(value);
            Emit(0xEE); // out dx, al
        }

        public void Store32(uint address, uint value)
        {
            MovEax(address);
            Emit(0xC7, 0x00); // mov dword [rax], imm32
            Imm32(value);
        }

        public void Store16(uint address, ushort value)
        {
            MovEax(address);
            Emit(0x66, 0xC7, 0x00, (byte)value, (byte)(value >> 8)); // mov word [rax], imm16
        }

        public void Store8(uint address, byte value)
        {
            MovEax(address);
            Emit(0xC6, 0x00, value); // mov byte [rax], imm8
        }

        /// <summary>Stores bias + [source] (a byte) at <paramref name="control"/>, then halts.</summary>
        public void ReportByte(uint source, uint control, byte bias)
        {
            MovEax(source);
            Emit(0x0F, 0xB6, 0x08);             // movzx ecx, byte [rax]
            Emit(0x83, 0xC1, bias);             // add ecx, bias
            MovEax(control);
            Emit(0x88, 0x08);                   // mov [rax], cl
            Emit(0xF4, 0xEB, 0xFD);             // hlt; jmp hlt
        }
    }
}
