using System.Buffers.Binary;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// A parsed kernel: a bzImage (64-bit boot protocol) or an uncompressed ELF vmlinux
/// (Firecracker's default, much faster to start here since the decompressor is skipped).
/// </summary>
public sealed class KernelImage
{
    private const uint ElfMagic = 0x464C457F; // "\x7fELF"
    private const byte ElfClass64 = 2;
    private const byte ElfDataLittle = 1;
    private const ushort ElfMachineX86_64 = 62;
    private const uint PtLoad = 1;

    private KernelImage(string path, byte[] bytes, KernelFormat format)
    {
        Path = path;
        Bytes = bytes;
        Format = format;
    }

    public string Path { get; }
    public byte[] Bytes { get; }
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

    public static KernelImage Load(string path)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
                throw new BootException($"kernel {path} is a directory, not a kernel image");
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException) { throw new KernelFileException($"kernel {path} does not exist"); }
        catch (DirectoryNotFoundException) { throw new KernelFileException($"kernel {path} does not exist"); }
        catch (UnauthorizedAccessException) { throw new KernelFileException($"kernel {path} is not readable (permission denied)"); }
        catch (IOException e) { throw new KernelFileException($"kernel {path} cannot be read: {e.Message}"); }
        return Parse(path, bytes);
    }

    public static KernelImage Parse(string path, byte[] bytes)
    {
        if (bytes.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(bytes) == ElfMagic)
            return ParseElf(path, bytes);
        var header = SetupHeader.Parse(bytes, path);
        int setup = header.SetupSize;
        ulong runtimeStart = Math.Max(Layout64.AlignUp(Layout64.BzLoad, Math.Max(header.KernelAlignment, 1u)), Layout64.KernelStart);
        return new KernelImage(path, bytes, KernelFormat.BzImage)
        {
            Header = header,
            Segments = [new KernelSegment(Layout64.BzLoad, setup, bytes.Length - setup, (ulong)(bytes.Length - setup))],
            EntryPoint = Layout64.BzLoad + Layout64.BzEntryOffset,
            // The decompressor runs the kernel at >= 16 MiB and needs init_size bytes from there.
            KernelEnd = Math.Max(runtimeStart + header.InitSize, Layout64.BzLoad + (ulong)(bytes.Length - setup)),
        };
    }

    private static KernelImage ParseElf(string path, byte[] b)
    {
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
        if (phentsize < 56 || phoff > (ulong)b.Length || (ulong)phentsize * phnum > (ulong)b.Length - phoff)
            throw new BootException($"{path} has a corrupt ELF program header table");

        var segments = new List<KernelSegment>();
        ulong end = 0;
        for (int i = 0; i < phnum; i++)
        {
            var ph = b.AsSpan((int)phoff + i * phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad) continue;
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset > (ulong)b.Length || filesz > (ulong)b.Length - offset || memsz < filesz)
                throw new BootException($"{path}: ELF segment {i} lies outside the file");
            if (paddr < Layout64.HighMem)
                throw new BootException($"{path}: ELF segment {i} wants to load at 0x{paddr:x}, below 1 MiB");
            segments.Add(new KernelSegment(paddr, (int)offset, (int)filesz, memsz));
            end = Math.Max(end, paddr + memsz);
        }
        if (segments.Count == 0)
            throw new BootException($"{path} is an ELF file without loadable segments");
        if (entry < Layout64.HighMem || entry >= end)
            throw new BootException($"{path}: ELF entry point 0x{entry:x} is not a physical address inside the kernel (not a vmlinux?)");
        return new KernelImage(path, b, KernelFormat.Elf) { Segments = segments, EntryPoint = entry, KernelEnd = end };
    }
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
