using System.Buffers.Binary;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// Hand-assembled 64-bit "kernels" in ELF files: a few instructions that exercise one VMM path each
/// (console output, i8042 reset, guest-control exit, serial input, a hang). They start in
/// microseconds, so VMM mechanics get tested on real KVM without waiting for Linux.
/// </summary>
public static class TinyKernel
{
    public const ulong LoadAddress = 0x1000000;

    private static readonly byte[] MovDxCom1 = [0x66, 0xBA, 0xF8, 0x03];          // mov dx, 0x3f8
    private static readonly byte[] ResetThroughI8042 = [0xB0, 0xFE, 0xE6, 0x64];  // mov al, 0xfe; out 0x64, al
    private static readonly byte[] HaltForever = [0xF4, 0xEB, 0xFD];              // hlt; jmp hlt

    /// <summary>Prints <paramref name="text"/> on COM1, then resets through the i8042.</summary>
    public static byte[] PrintThenReset(string text) => Elf([.. Print(text), .. ResetThroughI8042, .. HaltForever]);

    /// <summary>Prints, then reports <paramref name="status"/> through the guest-control page (0xC0000000).</summary>
    public static byte[] PrintThenExit(string text, byte status) =>
        Elf([.. Print(text), .. StoreControl(0x0, status), .. HaltForever]);

    /// <summary>Prints <paramref name="text"/> on COM1, then spins without exits: a guest that is known to run.</summary>
    public static byte[] PrintThenSpin(string text) => Elf([.. Print(text), 0xEB, 0xFE]);

    /// <summary>Writes the boot marker (123) to the guest-control page, then resets.</summary>
    public static byte[] MarkThenReset() => Elf([.. StoreControl(0x4, 123), .. ResetThroughI8042, .. HaltForever]);

    /// <summary>
    /// Loads an empty IDT (limit 0) and executes UD2: #UD cannot be delivered, nor the #DF that
    /// follows, so the CPU shuts down (KVM_EXIT_SHUTDOWN).
    /// </summary>
    public static byte[] TripleFault() => Elf([
        0x0F, 0x01, 0x1D, 0x02, 0x00, 0x00, 0x00, // lidt [rip + 2]: the 10 zero bytes after ud2
        0x0F, 0x0B,                               // ud2
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);            // IDTR: limit 0, base 0

    /// <summary>
    /// The bytes of <see cref="PopcntFromMmio"/>'s faulting instruction: <c>popcnt rax, [rbx]</c>.
    /// KVM must emulate any instruction that touches MMIO, and its instruction emulator
    /// (arch/x86/kvm/emulate.c) has no POPCNT, so KVM gives up with an emulation failure.
    /// </summary>
    public static readonly byte[] PopcntRaxFromRbx = [0xF3, 0x48, 0x0F, 0xB8, 0x03];

    /// <summary>
    /// POPCNT with its operand in the MMIO hole (0xD0000000, no RAM): an instruction KVM cannot
    /// emulate, so KVM_RUN returns an emulation failure with the instruction bytes at RIP.
    /// </summary>
    public static byte[] PopcntFromMmio() => Elf([
        0xBB, 0x00, 0x00, 0x00, 0xD0, // mov ebx, 0xD0000000
        .. PopcntRaxFromRbx,
        .. HaltForever]);

    /// <summary>
    /// Prints "A", keeps <paramref name="status"/> in R12, asks for a snapshot (guest-control 0x0C),
    /// then prints "B" and reports R12 as its exit status: a restored VM must print only "B" and
    /// exit with <paramref name="status"/>, proving registers and execution carried over.
    /// </summary>
    public static byte[] SnapshotThenExit(byte status) => Elf([
        .. MovDxCom1,
        0xB0, (byte)'A', 0xEE,                    // mov al, 'A'; out dx, al
        0x41, 0xBC, status, 0, 0, 0,              // mov r12d, status
        .. StoreControl(0x0C, 1),                 // the snapshot request
        0xB0, (byte)'B', 0xEE,                    // mov al, 'B'; out dx, al (dx survives the snapshot)
        0xB8, 0x00, 0x00, 0x00, 0xC0,             // mov eax, 0xC0000000
        0x44, 0x88, 0x20,                         // mov [rax], r12b
        .. HaltForever]);

    /// <summary>Spins forever without exits (for --timeout and signal tests).</summary>
    public static byte[] Spin() => Elf([0xEB, 0xFE]);

    /// <summary>
    /// Echoes COM1 input back (polling LSR.DR) until it reads 'q', then resets: exercises
    /// stdin → UART → guest → UART → stdout.
    /// </summary>
    public static byte[] EchoUntilQ()
    {
        byte[] code =
        [
            .. MovDxCom1,
            // poll: lea edx, [0x3fd]; in al, dx; test al, 1; jz poll
            0x66, 0xBA, 0xFD, 0x03,       // mov dx, 0x3fd (LSR)
            0xEC,                         // in al, dx
            0xA8, 0x01,                   // test al, 1
            0x74, 0xF7,                   // jz -9 (back to mov dx, 0x3fd)
            0x66, 0xBA, 0xF8, 0x03,       // mov dx, 0x3f8
            0xEC,                         // in al, dx
            0xEE,                         // out dx, al (echo)
            0x3C, (byte)'q',              // cmp al, 'q'
            0x75, 0xED,                   // jne -19 (back to poll)
            .. ResetThroughI8042,
            .. HaltForever,
        ];
        return Elf(code);
    }

    private static byte[] Print(string text)
    {
        var code = new List<byte>(MovDxCom1);
        foreach (char c in text)
        {
            code.Add(0xB0); code.Add((byte)c); // mov al, c
            code.Add(0xEE);                     // out dx, al
        }
        return code.ToArray();
    }

    /// <summary>mov eax, 0xC0000000 + offset; mov byte [rax], value.</summary>
    private static byte[] StoreControl(uint offset, byte value)
    {
        uint address = 0xC0000000 + offset;
        return [0xB8, (byte)address, (byte)(address >> 8), (byte)(address >> 16), (byte)(address >> 24), 0xC6, 0x00, value];
    }

    /// <summary>A minimal ELF64 executable: one PT_LOAD segment at <see cref="LoadAddress"/>, entry at its start.</summary>
    public static byte[] Elf(byte[] code)
    {
        const int codeOffset = 0x1000;
        var b = new byte[codeOffset + code.Length];
        var s = b.AsSpan();
        s[0] = 0x7F; s[1] = (byte)'E'; s[2] = (byte)'L'; s[3] = (byte)'F';
        s[4] = 2; s[5] = 1; s[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2);    // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 62);   // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], 64);   // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[52..], 64);   // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], 56);   // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1);    // e_phnum
        var ph = s[64..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);         // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 5);    // R+X
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], codeOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], 0xFFFFFFFF81000000);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], LoadAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)code.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)code.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 0x1000);
        code.CopyTo(s[codeOffset..]);
        return b;
    }

    /// <summary>Where <see cref="PvhElf"/> loads its code (and its PVH entry).</summary>
    public const ulong PvhLoadAddress = 0x100000;

    /// <summary>
    /// A minimal ELF32 (EM_386) executable: one PT_LOAD segment of 32-bit <paramref name="code"/> at
    /// <see cref="PvhLoadAddress"/> and, unless <paramref name="noteDescSize"/> is 0, a PT_NOTE with
    /// Xen's XEN_ELFNOTE_PHYS32_ENTRY naming its start (a 4- or 8-byte value, as kernels write it).
    /// e_entry is left 0: a PVH loader must take the entry from the note.
    /// </summary>
    public static byte[] PvhElf(byte[] code, int noteDescSize = 4, uint? noteEntry = null)
    {
        const int codeOffset = 0x1000;
        const int noteOffset = 0x100;
        int phnum = noteDescSize == 0 ? 1 : 2;
        var b = new byte[codeOffset + code.Length];
        var s = b.AsSpan();
        s[0] = 0x7F; s[1] = (byte)'E'; s[2] = (byte)'L'; s[3] = (byte)'F';
        s[4] = 1; s[5] = 1; s[6] = 1;                            // ELFCLASS32, little-endian
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], 2);    // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], 3);    // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], 52);   // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(s[40..], 52);   // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[42..], 32);   // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(s[44..], (ushort)phnum);
        var ph = s[52..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);         // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], codeOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], (uint)PvhLoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], (uint)PvhLoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)code.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], (uint)code.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[24..], 5);   // R+X
        BinaryPrimitives.WriteUInt32LittleEndian(ph[28..], 0x1000);
        if (noteDescSize != 0)
        {
            int noteSize = 12 + 4 + noteDescSize;
            var nph = s[84..];
            BinaryPrimitives.WriteUInt32LittleEndian(nph, 4);    // PT_NOTE
            BinaryPrimitives.WriteUInt32LittleEndian(nph[4..], noteOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(nph[16..], (uint)noteSize);
            BinaryPrimitives.WriteUInt32LittleEndian(nph[20..], (uint)noteSize);
            BinaryPrimitives.WriteUInt32LittleEndian(nph[28..], 4);
            var note = s[noteOffset..];
            BinaryPrimitives.WriteUInt32LittleEndian(note, 4);   // namesz
            BinaryPrimitives.WriteUInt32LittleEndian(note[4..], (uint)noteDescSize);
            BinaryPrimitives.WriteUInt32LittleEndian(note[8..], 18); // XEN_ELFNOTE_PHYS32_ENTRY
            "Xen\0"u8.CopyTo(note[12..]);
            BinaryPrimitives.WriteUInt32LittleEndian(note[16..], noteEntry ?? (uint)PvhLoadAddress);
        }
        code.CopyTo(s[codeOffset..]);
        return b;
    }

    /// <summary>
    /// 32-bit PVH code that checks what the entry must provide — hvm_start_info's magic at EBX, a
    /// command line starting with "console", at least three memory-map entries, paging off — then
    /// prints "pvh\n" and exits with 5 through the guest-control page, or exits with 9 at once.
    /// </summary>
    public static byte[] PvhEntryCheck()
    {
        var code = new List<byte>();
        var fails = new List<int>();
        void JumpToFail(byte opcode) { code.Add(opcode); code.Add(0); fails.Add(code.Count); }
        code.AddRange([0x81, 0x3B, 0x78, 0xC5, 0x6E, 0x33]);  // cmp dword [ebx], 0x336ec578
        JumpToFail(0x75);                                      // jne fail
        code.AddRange([0x8B, 0x73, 0x18]);                     // mov esi, [ebx + 24] (cmdline_paddr)
        code.AddRange([0x80, 0x3E, (byte)'c']);                // cmp byte [esi], 'c'
        JumpToFail(0x75);
        code.AddRange([0x83, 0x7B, 0x30, 0x03]);               // cmp dword [ebx + 48], 3 (memmap_entries)
        JumpToFail(0x72);                                      // jb fail
        code.AddRange([0x0F, 0x20, 0xC0]);                     // mov eax, cr0
        code.AddRange([0xA9, 0x00, 0x00, 0x00, 0x80]);         // test eax, CR0.PG
        JumpToFail(0x75);
        code.AddRange(Print("pvh\n"));
        code.AddRange(StoreControl(0x0, 5));
        code.AddRange(HaltForever);
        int fail = code.Count;
        foreach (int next in fails) code[next - 1] = (byte)(fail - next);
        code.AddRange(StoreControl(0x0, 9));
        code.AddRange(HaltForever);
        return PvhElf(code.ToArray());
    }

    public static string WriteTemp(byte[] image, string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "csvmm-tests");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{name}-{Environment.ProcessId}.elf");
        File.WriteAllBytes(path, image);
        return path;
    }
}
