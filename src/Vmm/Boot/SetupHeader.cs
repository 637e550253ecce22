using System.Buffers.Binary;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// The fields of the Linux x86 setup header (Documentation/arch/x86/boot.rst) csvmm reads.
/// Offsets are the same in the bzImage file and in boot_params.
/// </summary>
public sealed class SetupHeader
{
    public const int SetupSectsOffset = 0x1F1;
    public const int BootFlagOffset = 0x1FE;
    public const int JumpOffset = 0x200;
    public const int HeaderMagicOffset = 0x202;
    public const int VersionOffset = 0x206;
    public const int TypeOfLoaderOffset = 0x210;
    public const int LoadFlagsOffset = 0x211;
    public const int Code32StartOffset = 0x214;
    public const int RamdiskImageOffset = 0x218;
    public const int RamdiskSizeOffset = 0x21C;
    public const int CmdLinePtrOffset = 0x228;
    public const int InitrdAddrMaxOffset = 0x22C;
    public const int KernelAlignmentOffset = 0x230;
    public const int RelocatableOffset = 0x234;
    public const int XLoadFlagsOffset = 0x236;
    public const int CmdlineSizeOffset = 0x238;
    public const int PrefAddressOffset = 0x258;
    public const int InitSizeOffset = 0x260;

    public const ushort BootFlagMagic = 0xAA55;
    public const uint HeaderMagic = 0x53726448; // "HdrS"
    public const ushort MinimumVersion = 0x020C; // 2.12: xloadflags
    public const byte LoadFlagLoadedHigh = 0x01;
    public const ushort XLoadFlagKernel64 = 0x01;
    public const ushort XLoadFlagCanBeLoadedAbove4G = 0x02;
    public const byte TypeOfLoaderUndefined = 0xFF;

    public byte SetupSects { get; init; }
    public ushort Version { get; init; }
    public byte LoadFlags { get; init; }
    public uint InitrdAddrMax { get; init; }
    public uint KernelAlignment { get; init; }
    public ushort XLoadFlags { get; init; }
    public uint CmdlineSize { get; init; }
    public ulong PrefAddress { get; init; }
    public uint InitSize { get; init; }

    /// <summary>End of the header: 0x202 plus the jump's operand at 0x201.</summary>
    public int HeaderEnd { get; init; }

    /// <summary>Bytes before the protected-mode code: the boot sector plus the setup sectors.</summary>
    public int SetupSize => ((SetupSects == 0 ? 4 : SetupSects) + 1) * 512;

    /// <summary>Parses and validates a bzImage header; throws <see cref="BootException"/> with the reason.</summary>
    public static SetupHeader Parse(ReadOnlySpan<byte> image, string path) => Parse(image, image.Length, path);

    /// <summary>Parses the header from the file's first bytes (<paramref name="head"/>) and its total length.</summary>
    public static SetupHeader Parse(ReadOnlySpan<byte> head, long fileLength, string path)
    {
        var image = head;
        if (image.Length < 0x264)
            throw new BootException($"{path} is not a bzImage: only {image.Length} bytes, too short for a boot header");
        if (BinaryPrimitives.ReadUInt16LittleEndian(image[BootFlagOffset..]) != BootFlagMagic)
            throw new BootException($"{path} is not a bzImage: no 0xAA55 boot flag at 0x1FE");
        if (BinaryPrimitives.ReadUInt32LittleEndian(image[HeaderMagicOffset..]) != HeaderMagic)
            throw new BootException($"{path} is not a bzImage: no \"HdrS\" magic at 0x202");

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(image[VersionOffset..]);
        if (version < MinimumVersion)
            throw new BootException(
                $"{path} uses boot protocol {version >> 8}.{version & 0xFF}; csvmm needs 2.12 or newer (Linux 3.8+)");

        var h = new SetupHeader
        {
            SetupSects = image[SetupSectsOffset],
            Version = version,
            LoadFlags = image[LoadFlagsOffset],
            InitrdAddrMax = BinaryPrimitives.ReadUInt32LittleEndian(image[InitrdAddrMaxOffset..]),
            KernelAlignment = BinaryPrimitives.ReadUInt32LittleEndian(image[KernelAlignmentOffset..]),
            XLoadFlags = BinaryPrimitives.ReadUInt16LittleEndian(image[XLoadFlagsOffset..]),
            CmdlineSize = BinaryPrimitives.ReadUInt32LittleEndian(image[CmdlineSizeOffset..]),
            PrefAddress = BinaryPrimitives.ReadUInt64LittleEndian(image[PrefAddressOffset..]),
            InitSize = BinaryPrimitives.ReadUInt32LittleEndian(image[InitSizeOffset..]),
            HeaderEnd = 0x202 + image[JumpOffset + 1],
        };

        if ((h.LoadFlags & LoadFlagLoadedHigh) == 0)
            throw new BootException($"{path} is a zImage (loads low); csvmm boots bzImages only");
        if ((h.XLoadFlags & XLoadFlagKernel64) == 0)
            throw new BootException($"{path} has no 64-bit entry point (XLF_KERNEL_64 unset); build a 64-bit kernel");
        if (h.HeaderEnd > 0x264 + 0x100 || h.HeaderEnd > image.Length)
            throw new BootException($"{path} has a corrupt setup header (ends at 0x{h.HeaderEnd:x})");
        if (h.SetupSize >= fileLength)
            throw new BootException($"{path} is truncated: setup claims {h.SetupSize} bytes, file has {fileLength}");
        return h;
    }
}
