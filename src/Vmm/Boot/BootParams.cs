using System.Buffers.Binary;
using Csvmm.Vmm.Arch.X86_64;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// Builds boot_params ("the zero page", Documentation/arch/x86/zero-page.rst) in a 4 KiB buffer.
/// For a bzImage only the setup header (0x1F1 up to its end) is copied from the image, never the
/// whole first sector: its sentinel byte would make the kernel wipe ext_* fields (sanitize_boot_params() in arch/x86/include/asm/bootparam_utils.h clears them when
/// sentinel is non-zero).
/// </summary>
public static class BootParams
{
    public const int Size = 4096;
    public const int ExtRamdiskImageOffset = 0x0C0;
    public const int ExtRamdiskSizeOffset = 0x0C4;
    public const int ExtCmdLinePtrOffset = 0x0C8;
    public const int E820EntriesOffset = 0x1E8;
    public const int E820TableOffset = 0x2D0;
    public const int E820MaxEntries = 128;
    public const int E820EntrySize = 20;

    /// <summary>kernel_alignment for an ELF kernel built from scratch (Firecracker uses 16 MiB too).</summary>
    public const uint ElfKernelAlignment = 0x1000000;

    public static byte[] Build(KernelImage kernel, ulong cmdlineAddress, int cmdlineLength,
        ulong initrdAddress, ulong initrdSize, IReadOnlyList<E820Entry> e820)
    {
        var zp = new byte[Size];
        var span = zp.AsSpan();
        if (kernel.Header is { } h)
        {
            kernel.Head.AsSpan(SetupHeader.SetupSectsOffset, h.HeaderEnd - SetupHeader.SetupSectsOffset)
                .CopyTo(span[SetupHeader.SetupSectsOffset..]);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span[SetupHeader.BootFlagOffset..], SetupHeader.BootFlagMagic);
            BinaryPrimitives.WriteUInt32LittleEndian(span[SetupHeader.HeaderMagicOffset..], SetupHeader.HeaderMagic);
            BinaryPrimitives.WriteUInt16LittleEndian(span[SetupHeader.VersionOffset..], SetupHeader.MinimumVersion);
            BinaryPrimitives.WriteUInt32LittleEndian(span[SetupHeader.KernelAlignmentOffset..], ElfKernelAlignment);
            span[SetupHeader.LoadFlagsOffset] = SetupHeader.LoadFlagLoadedHigh;
        }

        span[SetupHeader.TypeOfLoaderOffset] = SetupHeader.TypeOfLoaderUndefined;
        BinaryPrimitives.WriteUInt32LittleEndian(span[SetupHeader.CmdLinePtrOffset..], (uint)cmdlineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(span[ExtCmdLinePtrOffset..], (uint)(cmdlineAddress >> 32));
        if (kernel.Header is null)
            BinaryPrimitives.WriteUInt32LittleEndian(span[SetupHeader.CmdlineSizeOffset..], (uint)cmdlineLength);
        if (initrdSize > 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[SetupHeader.RamdiskImageOffset..], (uint)initrdAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(span[SetupHeader.RamdiskSizeOffset..], (uint)initrdSize);
            BinaryPrimitives.WriteUInt32LittleEndian(span[ExtRamdiskImageOffset..], (uint)(initrdAddress >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(span[ExtRamdiskSizeOffset..], (uint)(initrdSize >> 32));
        }

        if (e820.Count > E820MaxEntries)
            throw new ArgumentException("too many e820 entries");
        span[E820EntriesOffset] = (byte)e820.Count;
        for (int i = 0; i < e820.Count; i++)
        {
            var entry = span.Slice(E820TableOffset + i * E820EntrySize, E820EntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(entry, e820[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], e820[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], e820[i].Type);
        }
        return zp;
    }
}
