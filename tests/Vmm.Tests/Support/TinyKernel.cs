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
}
