using System.Buffers.Binary;
using System.Diagnostics;
using Csvmm.Host.Memory;

namespace Csvmm.Kvm.Tests.Support;

/// <summary>
/// A hand-assembled 64-bit guest that keeps the in-kernel irqchip and PIT busy, for snapshot tests
/// on real KVM without a kernel loader: it programs both 8259 PICs (IRQ 0 at vector 0x20, all else
/// masked) and PIT channel 0 at ~100 Hz, enables interrupts and loops incrementing a counter in
/// memory and R12, writing R12 to port <see cref="ReportPort"/> every <see cref="ReportEvery"/>
/// iterations (<see cref="BusyLoop"/>) or after each HLT wake-up (<see cref="HaltLoop"/>). Its
/// timer handler counts ticks in memory and sends the PIC an EOI;
/// any other vector writes to <see cref="UnexpectedPort"/> and halts. Long mode with 2 MiB
/// identity-mapped pages; the VMM sets the CPU state up directly (no real-mode start).
/// </summary>
public static class TimerGuest
{
    public const ulong MemorySize = 2 << 20;
    public const ulong Pml4Address = 0x1000, PdptAddress = 0x2000, PdAddress = 0x3000;
    public const ulong GdtAddress = 0x4000, IdtAddress = 0x5000;
    public const ulong CounterAddress = 0x7000, TicksAddress = 0x7008;
    public const ulong CodeAddress = 0x8000;
    public const ulong StackTop = 0x20000;
    public const ushort ReportPort = 0x500, UnexpectedPort = 0x501;
    public const uint ReportEvery = 1024;
    public const ushort CodeSelector = 0x08, DataSelector = 0x10, TssSelector = 0x18;
    public const byte TimerVector = 0x20;

    /// <summary>Offsets from <see cref="CodeAddress"/>: the loop after the set-up, the interrupt handlers at their own place.</summary>
    public const int LoopOffset = 0x39, TimerHandlerOffset = 0x100, UnexpectedOffset = 0x120;
    /// <summary>In <see cref="BusyLoop"/>: the instruction after the report's OUT.</summary>
    public const int AfterBusyReportOffset = LoopOffset + 0x18;
    /// <summary>In <see cref="HaltLoop"/>: the instruction after HLT, where a halted vCPU's RIP points.</summary>
    public const int AfterHaltOffset = LoopOffset + 1;

    /// <summary>Where the VMM places KVM's TSS and identity-map pages: above guest RAM, below 4 GiB.</summary>
    public const ulong KvmTssAddress = 0xFFFBD000, KvmIdentityMapAddress = 0xFFFBC000;

    /// <summary>PICs, PIT, DX = report port, STI; the loop follows at <see cref="LoopOffset"/>.</summary>
    private static readonly byte[] SetUp =
    [
        0xB0, 0x11, 0xE6, 0x20,              // 0x00 PIC master ICW1: edge, cascade, ICW4 follows
        0xB0, 0x20, 0xE6, 0x21,              // 0x04 ICW2: IRQ 0 at vector 0x20
        0xB0, 0x04, 0xE6, 0x21,              // 0x08 ICW3: slave on IRQ 2
        0xB0, 0x01, 0xE6, 0x21,              // 0x0c ICW4: 8086 mode
        0xB0, 0xFE, 0xE6, 0x21,              // 0x10 OCW1: only IRQ 0 unmasked
        0xB0, 0x11, 0xE6, 0xA0,              // 0x14 PIC slave ICW1
        0xB0, 0x28, 0xE6, 0xA1,              // 0x18 ICW2: vector 0x28
        0xB0, 0x02, 0xE6, 0xA1,              // 0x1c ICW3: cascade identity 2
        0xB0, 0x01, 0xE6, 0xA1,              // 0x20 ICW4
        0xB0, 0xFF, 0xE6, 0xA1,              // 0x24 OCW1: all masked
        0xB0, 0x34, 0xE6, 0x43,              // 0x28 PIT: channel 0, lobyte/hibyte, mode 2
        0xB0, 0x9C, 0xE6, 0x40,              // 0x2c divisor 11932 (0x2e9c) = ~100 Hz: low byte
        0xB0, 0x2E, 0xE6, 0x40,              // 0x30 high byte
        0x66, 0xBA, 0x00, 0x05,              // 0x34 mov dx, 0x500
        0xFB,                                // 0x38 sti
    ];

    /// <summary>Counts in memory and R12 without pause; reports R12 every 1024 iterations.</summary>
    public static readonly byte[] BusyLoop =
    [
        0x48, 0xFF, 0x04, 0x25, 0x00, 0x70, 0x00, 0x00, // +0x00 loop: inc qword [0x7000]
        0x49, 0xFF, 0xC4,                    // +0x08 inc r12
        0x41, 0xF7, 0xC4, 0xFF, 0x03, 0x00, 0x00, // +0x0b test r12d, 0x3ff
        0x75, 0xEC,                          // +0x12 jnz loop
        0x44, 0x89, 0xE0,                    // +0x14 mov eax, r12d
        0xEF,                                // +0x17 out dx, eax
        0xEB, 0xE6,                          // +0x18 jmp loop
    ];

    /// <summary>Halts until an interrupt, then counts and reports once per wake-up: an idle guest.</summary>
    public static readonly byte[] HaltLoop =
    [
        0xF4,                                // +0x00 loop: hlt
        0x48, 0xFF, 0x04, 0x25, 0x00, 0x70, 0x00, 0x00, // +0x01 inc qword [0x7000]
        0x49, 0xFF, 0xC4,                    // +0x09 inc r12
        0x44, 0x89, 0xE0,                    // +0x0c mov eax, r12d
        0xEF,                                // +0x0f out dx, eax
        0xEB, 0xEE,                          // +0x10 jmp loop
    ];

    private static readonly byte[] TimerHandler =
    [
        0x48, 0xFF, 0x04, 0x25, 0x08, 0x70, 0x00, 0x00, // inc qword [0x7008]
        0x50,                                // push rax
        0xB0, 0x20, 0xE6, 0x20,              // out 0x20, 0x20 (EOI)
        0x58,                                // pop rax
        0x48, 0xCF,                          // iretq
    ];

    private static readonly byte[] UnexpectedHandler =
    [
        0x66, 0xBA, 0x01, 0x05,              // mov dx, 0x501
        0xEE,                                // out dx, al
        0xF4,                                // hlt
        0xEB, 0xF8,                          // jmp back to mov dx
    ];

    /// <summary>Page tables, GDT, IDT and code with <paramref name="loop"/> (<see cref="BusyLoop"/> or <see cref="HaltLoop"/>), into zeroed guest memory.</summary>
    public static void WriteImage(GuestMemory memory, byte[] loop)
    {
        memory.Write(Pml4Address, PdptAddress | 0x3);         // present, writable
        memory.Write(PdptAddress, PdAddress | 0x3);
        memory.Write(PdAddress, 0x83UL);                      // 2 MiB page at 0: present, writable, PS
        memory.Write(GdtAddress + CodeSelector, 0x00AF9A000000FFFFUL); // 64-bit code, DPL 0
        memory.Write(GdtAddress + DataSelector, 0x00CF92000000FFFFUL); // data, DPL 0
        memory.Write(GdtAddress + TssSelector, 0x00008B0000000067UL);  // busy 64-bit TSS at 0 (lower half)
        for (int vector = 0; vector < 256; vector++)
        {
            ulong handler = CodeAddress + (ulong)(vector == TimerVector ? TimerHandlerOffset : UnexpectedOffset);
            WriteInterruptGate(memory.GetSpan(IdtAddress + (ulong)vector * 16, 16), handler);
        }
        memory.Write(CodeAddress, SetUp);
        memory.Write(CodeAddress + LoopOffset, loop);
        memory.Write(CodeAddress + TimerHandlerOffset, TimerHandler);
        memory.Write(CodeAddress + UnexpectedOffset, UnexpectedHandler);
    }

    /// <summary>A 64-bit interrupt gate (type 0xE, present, DPL 0) to <paramref name="handler"/> in the code segment.</summary>
    private static void WriteInterruptGate(Span<byte> gate, ulong handler)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(gate, (ushort)handler);
        BinaryPrimitives.WriteUInt16LittleEndian(gate[2..], CodeSelector);
        gate[4] = 0;
        gate[5] = 0x8E;
        BinaryPrimitives.WriteUInt16LittleEndian(gate[6..], (ushort)(handler >> 16));
        BinaryPrimitives.WriteUInt32LittleEndian(gate[8..], (uint)(handler >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(gate[12..], 0);
    }

    /// <summary>
    /// The start state: supported CPUID, long mode, RIP at the code, and the LAPIC's LINT0 as
    /// ExtINT so the PIC's interrupts reach the vCPU (the "virtual wire" of the MP spec).
    /// </summary>
    public static void ConfigureVcpu(KvmSystem kvm, KvmVcpu vcpu)
    {
        vcpu.SetCpuid(kvm.GetSupportedCpuid());
        vcpu.SetRegs(new KvmRegs { Rip = CodeAddress, Rsp = StackTop, Rflags = 0x2 });
        var sregs = vcpu.GetSregs();
        var code = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = CodeSelector, Type = 0xB, Present = 1, S = 1, L = 1, G = 1 };
        var data = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = DataSelector, Type = 0x3, Present = 1, S = 1, Db = 1, G = 1 };
        sregs.Cs = code;
        sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = data;
        sregs.Tr = new KvmSegment { Base = 0, Limit = 0x67, Selector = TssSelector, Type = 0xB, Present = 1 };
        sregs.Gdt = new KvmDtable { Base = GdtAddress, Limit = 5 * 8 - 1 }; // the TSS descriptor takes two slots
        sregs.Idt = new KvmDtable { Base = IdtAddress, Limit = 256 * 16 - 1 };
        sregs.Cr0 = 0x80000011;  // PG, ET, PE
        sregs.Cr3 = Pml4Address;
        sregs.Cr4 = 0x20;        // PAE
        sregs.Efer = 0x500;      // LMA, LME
        vcpu.SetSregs(sregs);

        var lapic = vcpu.GetLapic();
        lapic.SetRegister(0xF0, 0x1FF);                                  // SVR: APIC enabled, spurious vector 0xff
        lapic.SetRegister(0x350, (lapic.GetRegister(0x350) & ~0x1_0700u) | (7 << 8)); // LVT LINT0: ExtINT, unmasked
        lapic.SetRegister(0x360, (lapic.GetRegister(0x360) & ~0x1_0700u) | (4 << 8)); // LVT LINT1: NMI
        vcpu.SetLapic(lapic);
    }

    /// <summary>A VM as csvmm's builder makes one: TSS and identity-map pages, in-kernel irqchip and PIT.</summary>
    public static KvmVm CreateVm(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        vm.SetTssAddress(KvmTssAddress);
        if (vm.CheckExtension(KvmCap.SetIdentityMapAddr) > 0) vm.SetIdentityMapAddress(KvmIdentityMapAddress);
        vm.CreateIrqchip();
        vm.CreatePit2(KvmPitConfig.SpeakerDummy);
        return vm;
    }

    /// <summary>
    /// Runs until the guest's next report and returns its R12 value. Any other exit to userspace
    /// (the unexpected-vector port, a shutdown, an emulation failure) fails with what happened.
    /// </summary>
    public static uint RunUntilReport(KvmVcpu vcpu, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (!vcpu.RunOnce()) continue;
            var run = vcpu.Run;
            if (run.ExitReason == KvmExitReason.Io && run.IoIsOut && run.IoPort == ReportPort && run.IoSize == 4)
                return BinaryPrimitives.ReadUInt32LittleEndian(run.IoData);
            string detail = run.ExitReason == KvmExitReason.Io
                ? $"port 0x{run.IoPort:x} ({(run.IoPort == UnexpectedPort ? "an unexpected interrupt or exception" : "unexpected port")})"
                : run.ExitReason == KvmExitReason.InternalError
                    ? $"suberror {run.InternalSuberror}, instruction bytes {Convert.ToHexString(run.EmulationInstructionBytes)}"
                    : "";
            throw new InvalidOperationException($"guest exit {run.ExitReason} {detail} at RIP 0x{vcpu.GetRegs().Rip:x}");
        }
        throw new TimeoutException($"no report from the guest within {timeout}");
    }
}
