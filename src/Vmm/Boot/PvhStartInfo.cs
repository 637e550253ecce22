using System.Buffers.Binary;
using Csvmm.Vmm.Arch.X86_64;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// The PVH start-of-day structures (xen/include/public/arch-x86/hvm/start_info.h, version 1):
/// hvm_start_info with the command line, the initrd as module 0 and the memory map, which is the
/// same map an e820 table would carry (type 1 RAM, 2 reserved). Everything lies below 1 MiB at the
/// addresses <see cref="Layout"/> names; EBX holds <see cref="Layout.PvhStartInfoAddress"/> at the entry.
/// </summary>
public static class PvhStartInfo
{
    /// <summary>XEN_HVM_START_MAGIC_VALUE: "xEn3" with the 0x80 bit of the "E" set.</summary>
    public const uint Magic = 0x336EC578;
    public const uint Version = 1;
    public const int StartInfoSize = 56;
    public const int ModuleEntrySize = 32;
    public const int MemmapEntrySize = 24;

    public const int MagicOffset = 0;
    public const int VersionOffset = 4;
    public const int NrModulesOffset = 12;
    public const int ModlistPaddrOffset = 16;
    public const int CmdlinePaddrOffset = 24;
    public const int MemmapPaddrOffset = 40;
    public const int MemmapEntriesOffset = 48;

    /// <summary>
    /// The bytes of hvm_start_info, its module list (empty without an initrd) and its memory map,
    /// each to be written at its <see cref="Layout"/> address.
    /// </summary>
    public static (byte[] StartInfo, byte[] Modules, byte[] Memmap) Build(ulong cmdlineAddress,
        ulong initrdAddress, ulong initrdSize, IReadOnlyList<E820Entry> memoryMap)
    {
        if ((ulong)memoryMap.Count * MemmapEntrySize > Layout.PvhMemmapEnd - Layout.PvhMemmapAddress)
            throw new ArgumentException("the memory map does not fit its area", nameof(memoryMap));
        bool initrd = initrdSize > 0;

        var info = new byte[StartInfoSize];
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(MagicOffset), Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(VersionOffset), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(NrModulesOffset), initrd ? 1u : 0u);
        // "nothing will be loaded at physical address 0, so a 0 value ... should be treated as not present"
        BinaryPrimitives.WriteUInt64LittleEndian(info.AsSpan(ModlistPaddrOffset), initrd ? Layout.PvhModlistAddress : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(info.AsSpan(CmdlinePaddrOffset), cmdlineAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(info.AsSpan(MemmapPaddrOffset), Layout.PvhMemmapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(MemmapEntriesOffset), (uint)memoryMap.Count);

        var modules = new byte[initrd ? ModuleEntrySize : 0];
        if (initrd)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(modules, initrdAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(modules.AsSpan(8), initrdSize);
        }

        var memmap = new byte[memoryMap.Count * MemmapEntrySize];
        for (int i = 0; i < memoryMap.Count; i++)
        {
            var e = memmap.AsSpan(i * MemmapEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(e, memoryMap[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], memoryMap[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], memoryMap[i].Type);
        }
        return (info, modules, memmap);
    }
}
