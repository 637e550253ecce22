using System.Buffers.Binary;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// A parsed kernel: a bzImage (64-bit boot protocol) or an uncompressed ELF vmlinux
/// (Firecracker's default, much faster to start here since the decompressor is skipped). Only the
/// headers are read to parse it; the loader reads the segments straight into guest memory.
/// </summary>
public sealed class KernelImage : IDisposable
{
    /// <summary>Bytes read for parsing: a bzImage's boot sector and setup header, or an ELF header.</summary>
    private const int HeadBytes = 0x1000;

    /// <summary>The largest ELF program header table accepted (a vmlinux has a handful of entries).</summary>
    private const int MaxProgramHeaders = 0x10000;

    private const uint ElfMagic = 0x464C457F; // "\x7fELF"
    private const byte ElfClass32 = 1;
    private const byte ElfClass64 = 2;
    private const byte ElfDataLittle = 1;
    private const ushort ElfMachine386 = 3;
    private const ushort ElfMachineX86_64 = 62;
    private const int Elf64HeaderSize = 64;
    private const int Elf64PhdrSize = 56;
    private const int Elf32PhdrSize = 32;
    private const uint PtLoad = 1;
    private const uint PtNote = 4;
    private const int NoteHeaderSize = 12;
    private const ulong MaxNoteBytes = 0x10000;

    /// <summary>Xen's "physical entry point into the kernel" note type (xen/include/public/elfnote.h).</summary>
    public const uint XenElfNotePhys32Entry = 18;

    private KernelImage(ImageSource source, byte[] head, KernelFormat format)
    {
        Source = source;
        Head = head;
        Format = format;
    }

    public string Path => Source.Path;

    /// <summary>Where the segments are read from.</summary>
    public ImageSource Source { get; }

    /// <summary>The first bytes of the file (the bzImage setup header lies in them).</summary>
    public byte[] Head { get; }

    public KernelFormat Format { get; }

    /// <summary>The bzImage setup header (null for ELF).</summary>
    public SetupHeader? Header { get; private init; }

    public IReadOnlyList<KernelSegment> Segments { get; private init; } = [];

    /// <summary>Guest-physical entry point: 64-bit, or for <see cref="KernelFormat.Pvh"/> the 32-bit PVH entry.</summary>
    public ulong EntryPoint { get; private init; }

    /// <summary>The PVH entry from an ELF note, when the file has one (a 64-bit ELF boots through its 64-bit entry all the same).</summary>
    public ulong? PvhEntryPoint { get; private init; }

    /// <summary>Lowest guest-physical address the running kernel may use up to (exclusive).</summary>
    public ulong KernelEnd { get; private init; }

    /// <summary>Maximum command line length the kernel accepts (without the NUL).</summary>
    public uint CmdlineMax => Header?.CmdlineSize is > 0 and var s ? s : 2047;

    /// <summary>Highest address the initrd may occupy (inclusive).</summary>
    public ulong InitrdAddrMax => Header?.InitrdAddrMax is > 0 and var m ? m : 0x37FFFFFF;

    /// <summary>Opens and parses <paramref name="path"/>; the file stays open until the image is disposed.</summary>
    public static KernelImage Load(string path)
    {
        var source = ImageSource.Open(path, "kernel");
        try
        {
            return Parse(source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    public static KernelImage Parse(string path, byte[] bytes) => Parse(ImageSource.FromBytes(path, bytes));

    public static KernelImage Parse(ImageSource source)
    {
        byte[] head = source.Head(HeadBytes);
        if (head.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == ElfMagic)
            return ParseElf(source, head);
        var header = SetupHeader.Parse(head, source.Length, source.Path);
        int setup = header.SetupSize;
        long payload = source.Length - setup;
        if (payload > int.MaxValue) throw new BootException($"{source.Path} is too large for a kernel");
        ulong runtimeStart = Math.Max(Layout64.AlignUp(Layout64.BzLoad, Math.Max(header.KernelAlignment, 1u)), Layout64.KernelStart);
        return new KernelImage(source, head, KernelFormat.BzImage)
        {
            Header = header,
            Segments = [new KernelSegment(Layout64.BzLoad, setup, (int)payload, (ulong)payload)],
            EntryPoint = Layout64.BzLoad + Layout64.BzEntryOffset,
            // The decompressor runs the kernel at >= 16 MiB and needs init_size bytes from there.
            KernelEnd = Math.Max(runtimeStart + header.InitSize, Layout64.BzLoad + (ulong)payload),
        };
    }

    private static KernelImage ParseElf(ImageSource source, byte[] b)
    {
        string path = source.Path;
        ulong length = (ulong)source.Length;
        if (b.Length < Elf64HeaderSize)
            throw new BootException($"{path} is a truncated ELF file");
        if (b[5] != ElfDataLittle || b[4] is not (ElfClass64 or ElfClass32))
            throw new BootException($"{path} is not a little-endian 32- or 64-bit ELF kernel");
        bool is64 = b[4] == ElfClass64;
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(18));
        if (machine != (is64 ? ElfMachineX86_64 : ElfMachine386))
            throw new BootException($"{path} is an ELF file for another architecture, not x86");
        // Elf64_Ehdr and Elf32_Ehdr differ in the width of e_entry/e_phoff (System V gABI, "ELF Header").
        ulong entry = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(24));
        ulong phoff = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(32)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(28));
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(is64 ? 54 : 42));
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(is64 ? 56 : 44));
        if (phentsize < (is64 ? Elf64PhdrSize : Elf32PhdrSize) || phoff > length
            || (ulong)phentsize * phnum > length - phoff || phentsize * phnum > MaxProgramHeaders)
            throw new BootException($"{path} has a corrupt ELF program header table");
        var table = new byte[phentsize * phnum];
        source.Read((long)phoff, table);

        var segments = new List<KernelSegment>();
        ulong end = 0;
        ulong? pvhEntry = null;
        for (int i = 0; i < phnum; i++)
        {
            var ph = ProgramHeader.Read(table.AsSpan(i * phentsize), is64);
            if (ph.Offset > length || ph.FileSize > length - ph.Offset)
                throw new BootException($"{path}: ELF segment {i} lies outside the file");
            if (ph.Type == PtNote)
            {
                pvhEntry ??= FindPvhEntry(source, ph.Offset, ph.FileSize, path);
                continue;
            }
            if (ph.Type != PtLoad) continue;
            if (ph.MemorySize < ph.FileSize || ph.FileSize > int.MaxValue || ph.MemorySize > Arch.X86_64.Layout.FourGiB)
                throw new BootException($"{path}: ELF segment {i} has impossible sizes");
            if (ph.PhysicalAddress < Layout64.HighMem)
                throw new BootException($"{path}: ELF segment {i} wants to load at 0x{ph.PhysicalAddress:x}, below 1 MiB");
            segments.Add(new KernelSegment(ph.PhysicalAddress, (long)ph.Offset, (int)ph.FileSize, ph.MemorySize));
            end = Math.Max(end, ph.PhysicalAddress + ph.MemorySize);
        }
        if (segments.Count == 0)
            throw new BootException($"{path} is an ELF file without loadable segments");

        // A 32-bit ELF can only be entered in 32-bit mode, and the PVH entry is the one 32-bit
        // protocol csvmm speaks. A 64-bit ELF keeps the 64-bit entry (Linux's vmlinux carries the
        // PVH note too when built with CONFIG_PVH, and boots the same through either).
        var format = KernelFormat.Elf;
        if (!is64)
        {
            if (pvhEntry is null)
                throw new BootException($"{path} is a 32-bit ELF file without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); csvmm boots 32-bit kernels only through PVH");
            entry = pvhEntry.Value;
            format = KernelFormat.Pvh;
        }
        if (entry < Layout64.HighMem || entry >= end)
            throw new BootException($"{path}: ELF entry point 0x{entry:x} is not a physical address inside the kernel (not a vmlinux?)");
        return new KernelImage(source, b, format) { Segments = segments, EntryPoint = entry, KernelEnd = end, PvhEntryPoint = pvhEntry };
    }

    /// <summary>
    /// Walks the notes of one PT_NOTE segment for Xen's XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h):
    /// name "Xen", a 32-bit physical entry point (a 4- or 8-byte descriptor; Linux uses its pointer width).
    /// </summary>
    private static ulong? FindPvhEntry(ImageSource source, ulong offset, ulong size, string path)
    {
        if (size > MaxNoteBytes)
            throw new BootException($"{path}: an ELF note segment of {size} bytes is larger than csvmm reads ({MaxNoteBytes})");
        var notes = new byte[size];
        source.Read((long)offset, notes);
        int at = 0;
        while (notes.Length - at >= NoteHeaderSize)
        {
            uint nameSize = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at));
            uint descSize = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 4));
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 8));
            ulong nameAt = (ulong)at + NoteHeaderSize;
            ulong descAt = nameAt + AlignNote(nameSize);
            ulong next = descAt + AlignNote(descSize);
            if (descAt + descSize > (ulong)notes.Length)
                throw new BootException($"{path} has a corrupt ELF note");
            if (type == XenElfNotePhys32Entry && nameSize == 4 && notes.AsSpan((int)nameAt, 4).SequenceEqual("Xen\0"u8))
            {
                ulong value = descSize switch
                {
                    4 => BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan((int)descAt)),
                    8 => BinaryPrimitives.ReadUInt64LittleEndian(notes.AsSpan((int)descAt)),
                    _ => throw new BootException($"{path}: the PVH entry note has a {descSize}-byte value, not 4 or 8"),
                };
                if (value >= Arch.X86_64.Layout.FourGiB)
                    throw new BootException($"{path}: the PVH entry point 0x{value:x} is not a 32-bit address");
                return value;
            }
            if (next > (ulong)notes.Length) break;
            at = (int)next;
        }
        return null;
    }

    private static ulong AlignNote(uint size) => ((ulong)size + 3) & ~3UL;

    public void Dispose() => Source.Dispose();
}

/// <summary>One program header, either ELF class, widened (System V gABI, "Program Header").</summary>
file readonly record struct ProgramHeader(uint Type, ulong Offset, ulong PhysicalAddress, ulong FileSize, ulong MemorySize)
{
    public static ProgramHeader Read(ReadOnlySpan<byte> ph, bool is64) => is64
        ? new(BinaryPrimitives.ReadUInt32LittleEndian(ph), BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]), BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]))
        : new(BinaryPrimitives.ReadUInt32LittleEndian(ph), BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(ph[12..]), BinaryPrimitives.ReadUInt32LittleEndian(ph[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(ph[20..]));
}

/// <summary>Short aliases for the layout values the image parser needs.</summary>
file static class Layout64
{
    public const ulong BzLoad = Arch.X86_64.Layout.BzImageLoadAddress;
    public const ulong BzEntryOffset = Arch.X86_64.Layout.BzImage64BitEntryOffset;
    public const ulong KernelStart = Arch.X86_64.Layout.KernelPhysicalStart;
    public const ulong HighMem = Arch.X86_64.Layout.HighMemoryStart;

    public static ulong AlignUp(ulong v, ulong a) => (v + a - 1) / a * a;
}
