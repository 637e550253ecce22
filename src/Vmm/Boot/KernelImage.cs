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
    private const byte ElfClass64 = 2;
    private const byte ElfDataLittle = 1;
    private const ushort ElfMachineX86_64 = 62;
    private const uint PtLoad = 1;

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

    /// <summary>Guest-physical 64-bit entry point.</summary>
    public ulong EntryPoint { get; private init; }

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
        if (b.Length < 64)
            throw new BootException($"{path} is a truncated ELF file");
        if (b[4] != ElfClass64 || b[5] != ElfDataLittle)
            throw new BootException($"{path} is not a 64-bit little-endian ELF kernel");
        if (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(18)) != ElfMachineX86_64)
            throw new BootException($"{path} is an ELF file for another architecture, not x86_64");
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24));
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(32));
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(54));
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(56));
        if (phentsize < 56 || phoff > length || (ulong)phentsize * phnum > length - phoff || phentsize * phnum > MaxProgramHeaders)
            throw new BootException($"{path} has a corrupt ELF program header table");
        var table = new byte[phentsize * phnum];
        source.Read((long)phoff, table);

        var segments = new List<KernelSegment>();
        ulong end = 0;
        for (int i = 0; i < phnum; i++)
        {
            var ph = table.AsSpan(i * phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad) continue;
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset > length || filesz > length - offset || memsz < filesz || filesz > int.MaxValue)
                throw new BootException($"{path}: ELF segment {i} lies outside the file");
            if (paddr < Layout64.HighMem)
                throw new BootException($"{path}: ELF segment {i} wants to load at 0x{paddr:x}, below 1 MiB");
            segments.Add(new KernelSegment(paddr, (long)offset, (int)filesz, memsz));
            end = Math.Max(end, paddr + memsz);
        }
        if (segments.Count == 0)
            throw new BootException($"{path} is an ELF file without loadable segments");
        if (entry < Layout64.HighMem || entry >= end)
            throw new BootException($"{path}: ELF entry point 0x{entry:x} is not a physical address inside the kernel (not a vmlinux?)");
        return new KernelImage(source, b, KernelFormat.Elf) { Segments = segments, EntryPoint = entry, KernelEnd = end };
    }

    public void Dispose() => Source.Dispose();
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
