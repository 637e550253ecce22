using System.Buffers.Binary;
using Csvmm.Host.Memory;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Boot;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

/// <summary>PVH boot (xen docs/misc/pvh.pandoc): the note, hvm_start_info, and the 32-bit entry state.</summary>
public sealed class PvhBootTests
{
    private const int MemoryBytes = 48 << 20;
    private static readonly byte[] Hlt = [0xF4];

    [Fact]
    public void Elf32_with_a_pvh_note_boots_through_the_notes_entry()
    {
        var k = KernelImage.Parse("k", TinyKernel.PvhElf([0x90, 0x90, 0xF4], noteEntry: (uint)TinyKernel.PvhLoadAddress + 2));
        Assert.Equal(KernelFormat.Pvh, k.Format);
        Assert.Equal(TinyKernel.PvhLoadAddress + 2, k.EntryPoint);
        Assert.Equal(TinyKernel.PvhLoadAddress + 3, k.KernelEnd);
    }

    [Fact]
    public void An_eight_byte_note_value_is_read_as_well()
    {
        var k = KernelImage.Parse("k", TinyKernel.PvhElf(Hlt, noteDescSize: 8));
        Assert.Equal(KernelFormat.Pvh, k.Format);
        Assert.Equal(TinyKernel.PvhLoadAddress, k.EntryPoint);
    }

    [Fact]
    public void Elf32_without_a_pvh_note_is_refused()
    {
        var e = Assert.Throws<BootException>(() => KernelImage.Parse("k", TinyKernel.PvhElf(Hlt, noteDescSize: 0)));
        Assert.Contains("PVH entry note", e.Message);
    }

    [Fact]
    public void A_note_value_of_another_size_is_refused()
    {
        var e = Assert.Throws<BootException>(() => KernelImage.Parse("k", TinyKernel.PvhElf(Hlt, noteDescSize: 2)));
        Assert.Contains("not 4 or 8", e.Message);
    }

    [Fact]
    public void A_pvh_entry_outside_the_loaded_kernel_is_refused()
    {
        var e = Assert.Throws<BootException>(() => KernelImage.Parse("k", TinyKernel.PvhElf(Hlt, noteEntry: 0x800000)));
        Assert.Contains("entry point", e.Message);
    }

    [Fact]
    public void A_note_running_past_its_segment_is_refused()
    {
        var image = TinyKernel.PvhElf(Hlt);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x100 + 4), 0x1000); // descsz beyond the segment
        var e = Assert.Throws<BootException>(() => KernelImage.Parse("k", image));
        Assert.Contains("corrupt ELF note", e.Message);
    }

    [Fact]
    public void Elf64_keeps_its_64_bit_entry_even_with_a_pvh_note()
    {
        // Linux's vmlinux with CONFIG_PVH carries the note: csvmm keeps entering it at startup_64.
        var image = TinyKernel.Elf([0xF4, 0xEB, 0xFD]);
        var s = image.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 2);     // e_phnum: add a PT_NOTE after the PT_LOAD
        var ph = s[(64 + 56)..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 4);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], 0x200);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], 24);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], 24);
        var note = s[0x200..];
        BinaryPrimitives.WriteUInt32LittleEndian(note, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(note[4..], 8);
        BinaryPrimitives.WriteUInt32LittleEndian(note[8..], KernelImage.XenElfNotePhys32Entry);
        "Xen\0"u8.CopyTo(note[12..]);
        BinaryPrimitives.WriteUInt64LittleEndian(note[16..], TinyKernel.LoadAddress + 1);

        var k = KernelImage.Parse("k", image);
        Assert.Equal(KernelFormat.Elf, k.Format);
        Assert.Equal(TinyKernel.LoadAddress, k.EntryPoint);
        Assert.Equal(TinyKernel.LoadAddress + 1, k.PvhEntryPoint);
    }

    [Fact]
    public void Loader_writes_hvm_start_info_with_cmdline_memory_map_and_the_initrd_as_module_0()
    {
        var ram = new byte[MemoryBytes];
        using var mem = GuestMemory.FromArray(ram);
        var kernel = KernelImage.Parse("k", TinyKernel.PvhElf(Hlt));
        byte[] initrd = [1, 2, 3, 4, 5];
        ulong at = KernelLoader.Load(mem, MemoryBytes, kernel, initrd, "console=ttyS0"u8.ToArray());

        var info = ram.AsSpan((int)Layout.PvhStartInfoAddress);
        Assert.Equal(PvhStartInfo.Magic, BinaryPrimitives.ReadUInt32LittleEndian(info));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(info[4..]));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(info[12..]));
        Assert.Equal(Layout.PvhModlistAddress, BinaryPrimitives.ReadUInt64LittleEndian(info[16..]));
        Assert.Equal(Layout.CmdlineAddress, BinaryPrimitives.ReadUInt64LittleEndian(info[24..]));
        Assert.Equal("console=ttyS0\0"u8.ToArray(), ram.AsSpan((int)Layout.CmdlineAddress, 14).ToArray());

        var module = ram.AsSpan((int)Layout.PvhModlistAddress);
        Assert.Equal(at, BinaryPrimitives.ReadUInt64LittleEndian(module));
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(module[8..]));
        Assert.Equal(initrd, ram.AsSpan((int)at, 5).ToArray());

        var expected = E820Entry.For(MemoryBytes);
        Assert.Equal(Layout.PvhMemmapAddress, BinaryPrimitives.ReadUInt64LittleEndian(info[40..]));
        Assert.Equal((uint)expected.Length, BinaryPrimitives.ReadUInt32LittleEndian(info[48..]));
        for (int i = 0; i < expected.Length; i++)
        {
            var e = ram.AsSpan((int)Layout.PvhMemmapAddress + i * PvhStartInfo.MemmapEntrySize);
            Assert.Equal(expected[i], new E820Entry(BinaryPrimitives.ReadUInt64LittleEndian(e),
                BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), BinaryPrimitives.ReadUInt32LittleEndian(e[16..])));
        }
        // No boot_params for a PVH kernel.
        Assert.True(ram.AsSpan((int)Layout.ZeroPageAddress, BootParams.Size).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Without_an_initrd_there_is_no_module_list()
    {
        var ram = new byte[MemoryBytes];
        using var mem = GuestMemory.FromArray(ram);
        KernelLoader.Load(mem, MemoryBytes, KernelImage.Parse("k", TinyKernel.PvhElf(Hlt)), (byte[]?)null, "x"u8.ToArray());
        var info = ram.AsSpan((int)Layout.PvhStartInfoAddress);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(info[12..]));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(info[16..]));
    }

    [Fact]
    public void Pvh_entry_state_is_32_bit_protected_mode_without_paging()
    {
        var sregs = new KvmSregs { Cr0 = 0x80000011, Cr4 = 0x20, Efer = 0x500, Cr3 = 0x9000 };
        VcpuSetup.ConfigurePvhSregs(ref sregs);
        Assert.Equal(0x11UL, sregs.Cr0);  // PE + ET only
        Assert.Equal(0UL, sregs.Cr4);
        Assert.Equal(0UL, sregs.Efer);
        Assert.Equal((byte)1, sregs.Cs.Db);
        Assert.Equal((byte)0, sregs.Cs.L);
        Assert.Equal(0xFFFFFFFFu, sregs.Cs.Limit);
        Assert.Equal(0UL, sregs.Cs.Base);
        Assert.Equal((byte)0xB, sregs.Cs.Type);
        Assert.Equal((byte)1, sregs.Ds.Db);
        Assert.Equal(0xFFFFFFFFu, sregs.Ds.Limit);
        Assert.Equal((byte)0x3, sregs.Ss.Type);
        Assert.Equal(0x67u, sregs.Tr.Limit);
        Assert.Equal((byte)0xB, sregs.Tr.Type);

        var regs = VcpuSetup.PvhRegs(0x100123);
        Assert.Equal(0x100123UL, regs.Rip);
        Assert.Equal(Layout.PvhStartInfoAddress, regs.Rbx);
        Assert.Equal(0UL, regs.Rflags & ((1 << 9) | (1 << 8) | (1 << 17))); // IF, TF, VM clear
    }
}
