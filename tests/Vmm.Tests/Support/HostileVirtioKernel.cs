namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// A hand-assembled guest that attacks the virtio-blk device in the first virtio-mmio window
/// (0xD0000000, csvmm's first --disk): garbage in every register at every width, queues placed
/// outside RAM, in the MMIO hole and on top of each other, DRIVER_OK out of order, notifications
/// for queues that do not exist. After each attack that should stop the device it waits until the
/// Status register shows DEVICE_NEEDS_RESET (a hang here fails the test by timeout). It never makes
/// a valid write. At the end it resets the device and
/// drives it properly with two requests — a write whose data lies in the MMIO hole (must fail with
/// IOERR, writing nothing) and a read of sector 0 — prints the first <see cref="EchoBytes"/> bytes
/// read on COM1 and reports 40 + read status + 4 × write status through the guest-control page:
/// 44 when csvmm failed the bad write and served the read, 40 if the bad write read as a stale OK.
/// </summary>
public static class HostileVirtioKernel
{
    public const int EchoBytes = 8;
    public const byte ExpectedExit = 44;

    private const uint Mmio = 0xD0000000;
    private const uint GuestControl = 0xC0000000;

    // virtio-mmio registers (virtio 1.2 §4.2.2, MMIO Device Register Layout)
    private const uint DriverFeatures = 0x20, DriverFeaturesSel = 0x24, QueueSel = 0x30, QueueNum = 0x38;
    private const uint QueueReady = 0x44, QueueNotify = 0x50, InterruptAck = 0x64, Status = 0x70;
    private const uint QueueDescLow = 0x80, QueueDescHigh = 0x84, QueueDriverLow = 0x90, QueueDriverHigh = 0x94;
    private const uint QueueDeviceLow = 0xA0, QueueDeviceHigh = 0xA4;
    private const uint Ack = 1, Driver = 2, DriverOk = 4, FeaturesOk = 8, NeedsReset = 0x40;

    // The final, valid session's rings and buffers (guest RAM, below the kernel at 16 MiB).
    private const uint Desc = 0x300000, Avail = 0x301000, Used = 0x302000;
    private const uint Headers = 0x303000, ReadData = 0x304000, Statuses = 0x305000;
    private const uint Scratch = 0x200000;

    public static byte[] Build()
    {
        var c = new Code();

        // 1. Every register and config word, read and written with three garbage patterns.
        for (uint off = 0; off < 0x200; off += 4) c.Load32(Mmio + off);
        foreach (uint pattern in new uint[] { 0xDEADBEEF, 0xFFFFFFFF, 0x00000001 })
            for (uint off = 0; off < 0x200; off += 4)
                if (off != Status || pattern != 0) c.Store32(Mmio + off, pattern);
        // Wrong widths and alignments, and a store straddling the end of the window.
        c.Store8(Mmio + Status, 0xFF);
        c.Store16(Mmio + QueueSel, 0xFFFF);
        c.Store32(Mmio + Status + 1, 0x0F0F0F0F);
        c.Store32(Mmio + 0xFFE, 0xCAFEF00D);
        c.Store32(Mmio + 0xFFC, 0x12345678);
        c.Store32(Mmio + InterruptAck, 0xFFFFFFFF);

        // 2. Queue areas outside guest RAM (64 GiB up), then in the MMIO hole: its own registers,
        //    the guest-control page, the LAPIC. Activation must refuse both.
        Negotiate(c);
        SetupQueue(c, 16, desc: 0x10_0000_0000, avail: 0x10_0000_1000, used: 0x10_0000_2000);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.Store32(Mmio + QueueNotify, 0);
        c.WaitForBits(Mmio + Status, NeedsReset);
        Negotiate(c);
        SetupQueue(c, 16, desc: Mmio, avail: GuestControl, used: 0xFEE00000);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.Store32(Mmio + QueueNotify, 0);
        c.WaitForBits(Mmio + Status, NeedsReset);

        // 3. All three rings on top of each other, filled with garbage: avail.idx 0x4141 claims
        //    more entries than the queue holds (a corrupt ring).
        for (uint off = 0; off < 0x200; off += 4) c.Store32(Scratch + off, 0x41414141);
        Negotiate(c);
        SetupQueue(c, 16, desc: Scratch, avail: Scratch, used: Scratch);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.Store32(Mmio + QueueNotify, 0);
        c.WaitForBits(Mmio + Status, NeedsReset); // the queue is processed on csvmm's I/O thread

        // 4. Overlapping again, now with one pending entry whose "descriptor" (the ring words seen as
        //    a descriptor) points outside RAM and has no status byte: a chain with nothing to fail.
        for (uint off = 0; off < 0x200; off += 4) c.Store32(Scratch + 0x1000 + off, 0x00010000);
        Negotiate(c);
        SetupQueue(c, 16, desc: Scratch + 0x1000, avail: Scratch + 0x1000, used: Scratch + 0x1000);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.Store32(Mmio + QueueNotify, 0);
        c.WaitForBits(Mmio + Status, NeedsReset);
        c.Store32(Mmio + QueueNotify, 0);

        // 5. DRIVER_OK out of order: alone after a reset; together with everything but no features;
        //    after FEATURES_OK without a ready queue; then queue writes and status clears after it.
        c.Store32(Mmio + Status, 0);
        c.Store32(Mmio + Status, DriverOk);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.Store32(Mmio + QueueNotify, 0);
        Negotiate(c);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.WaitForBits(Mmio + Status, NeedsReset);
        c.Store32(Mmio + QueueNotify, 0);
        c.Store32(Mmio + QueueNum, 8);
        c.Store32(Mmio + QueueReady, 1);
        c.Store32(Mmio + Status, Ack | Driver);

        // 6. Notifications for queues that do not exist, on a device that is not live.
        c.Store32(Mmio + Status, 0);
        c.Store32(Mmio + QueueNotify, 1);
        c.Store32(Mmio + QueueNotify, 0xFFFFFFFF);
        c.Store32(Mmio + QueueNotify, 0);

        // 7. A proper session: a write with its data in the MMIO hole, and a read of sector 0.
        c.Store32(Statuses, 0);        // both status bytes start as a stale OK
        c.Store32(Statuses + 0x10, 0);
        Header(c, Headers, type: 1);   // OUT, sector 0
        Header(c, Headers + 0x10, type: 0); // IN, sector 0
        Descriptor(c, 0, Headers, 16, flags: 1, next: 1);
        Descriptor(c, 1, Mmio, 512, flags: 1, next: 2);           // readable data in the MMIO hole
        Descriptor(c, 2, Statuses, 1, flags: 2, next: 0);
        Descriptor(c, 3, Headers + 0x10, 16, flags: 1, next: 4);
        Descriptor(c, 4, ReadData, 512, flags: 3, next: 5);
        Descriptor(c, 5, Statuses + 0x10, 1, flags: 2, next: 0);
        c.Store32(Avail + 4, 0x0003_0000);   // ring[0] = head 0, ring[1] = head 3
        Negotiate(c);
        SetupQueue(c, 16, desc: Desc, avail: Avail, used: Used);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk | DriverOk);
        c.Store32(Avail, 0x0002_0000);       // flags 0, idx 2
        c.Store32(Mmio + QueueNotify, 0);
        c.WaitForU16(Used + 2, 2);

        c.PrintBytes(ReadData, EchoBytes);
        c.ReportStatuses(Statuses, Statuses + 0x10, GuestControl, 40);
        return TinyKernel.Elf(c.ToArray());
    }

    private static void Negotiate(Code c)
    {
        c.Store32(Mmio + Status, 0);
        c.Store32(Mmio + Status, Ack);
        c.Store32(Mmio + Status, Ack | Driver);
        c.Store32(Mmio + DriverFeaturesSel, 1);
        c.Store32(Mmio + DriverFeatures, 1);   // VIRTIO_F_VERSION_1
        c.Store32(Mmio + DriverFeaturesSel, 0);
        c.Store32(Mmio + DriverFeatures, 0);
        c.Store32(Mmio + Status, Ack | Driver | FeaturesOk);
    }

    private static void SetupQueue(Code c, uint size, ulong desc, ulong avail, ulong used)
    {
        c.Store32(Mmio + QueueSel, 0);
        c.Store32(Mmio + QueueNum, size);
        c.Store32(Mmio + QueueDescLow, (uint)desc);
        c.Store32(Mmio + QueueDescHigh, (uint)(desc >> 32));
        c.Store32(Mmio + QueueDriverLow, (uint)avail);
        c.Store32(Mmio + QueueDriverHigh, (uint)(avail >> 32));
        c.Store32(Mmio + QueueDeviceLow, (uint)used);
        c.Store32(Mmio + QueueDeviceHigh, (uint)(used >> 32));
        c.Store32(Mmio + QueueReady, 1);
    }

    private static void Header(Code c, uint at, uint type)
    {
        c.Store32(at, type);
        c.Store32(at + 4, 0);
        c.Store32(at + 8, 0);
        c.Store32(at + 12, 0);
    }

    private static void Descriptor(Code c, int index, ulong addr, uint len, ushort flags, ushort next)
    {
        uint d = Desc + 16 * (uint)index;
        c.Store32(d, (uint)addr);
        c.Store32(d + 4, (uint)(addr >> 32));
        c.Store32(d + 8, len);
        c.Store32(d + 12, flags | ((uint)next << 16));
    }

    /// <summary>A few x86-64 instructions, all through RAX holding a zero-extended 32-bit address.</summary>
    private sealed class Code
    {
        private readonly List<byte> _b = [];

        public byte[] ToArray() => [.. _b];

        private void Emit(params byte[] bytes) => _b.AddRange(bytes);

        private void Imm32(uint v) => Emit((byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24));

        private void MovEax(uint address)
        {
            Emit(0xB8); // mov eax, imm32 (zero-extends into rax)
            Imm32(address);
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

        public void Load32(uint address)
        {
            MovEax(address);
            Emit(0x8B, 0x00); // mov eax, [rax]
        }

        /// <summary>Spins (with pause) until the u16 at <paramref name="address"/> equals <paramref name="value"/>.</summary>
        public void WaitForU16(uint address, byte value)
        {
            MovEax(address);
            Emit(0xF3, 0x90);                   // pause
            Emit(0x66, 0x83, 0x38, value);      // cmp word [rax], imm8
            Emit(0x75, 0xF8);                   // jne pause
        }

        /// <summary>Spins (with pause) until the dword at <paramref name="address"/> has any of <paramref name="bits"/> set.</summary>
        public void WaitForBits(uint address, uint bits)
        {
            MovEax(address);
            Emit(0xF3, 0x90);                   // pause
            Emit(0xF7, 0x00);                   // test dword [rax], imm32
            Imm32(bits);
            Emit(0x74, 0xF6);                   // jz pause
        }

        public void PrintBytes(uint address, int count)
        {
            Emit(0x66, 0xBA, 0xF8, 0x03);       // mov dx, 0x3f8
            for (uint i = 0; i < count; i++)
            {
                MovEax(address + i);
                Emit(0x8A, 0x00);               // mov al, [rax]
                Emit(0xEE);                     // out dx, al
            }
            Emit(0xB0, (byte)'\n', 0xEE);      // mov al, '\n'; out dx, al
        }

        /// <summary>Stores bias + 4 × [first] + [second] at the guest-control page's exit-status byte, then halts.</summary>
        public void ReportStatuses(uint first, uint second, uint control, byte bias)
        {
            MovEax(first);
            Emit(0x0F, 0xB6, 0x08);             // movzx ecx, byte [rax]
            Emit(0xC1, 0xE1, 0x02);             // shl ecx, 2
            MovEax(second);
            Emit(0x0F, 0xB6, 0x00);             // movzx eax, byte [rax]
            Emit(0x01, 0xC1);                   // add ecx, eax
            Emit(0x83, 0xC1, bias);             // add ecx, bias
            MovEax(control);
            Emit(0x88, 0x08);                   // mov [rax], cl
            Emit(0xF4, 0xEB, 0xFD);             // hlt; jmp hlt
        }
    }
}
