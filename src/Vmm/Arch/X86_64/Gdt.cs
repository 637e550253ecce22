using Csvmm.Host.Memory;
using Csvmm.Kvm;

namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>
/// The boot GDT (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): null, unused, __BOOT_CS 0x10 (64-bit code), __BOOT_DS 0x18 (data),
/// and a TSS descriptor at 0x20 that only TR references. Also builds the matching kvm_segment values.
/// </summary>
public static class Gdt
{
    public const ushort CodeSelector = 0x10;
    public const ushort DataSelector = 0x18;
    public const ushort TssSelector = 0x20;

    /// <summary>Raw descriptors: flags (G, D/B, L, AVL), access byte, base, limit packed per the SDM.</summary>
    public static readonly ulong[] Entries =
    [
        0,
        0,
        Descriptor(flags: 0xA, access: 0x9B, baseAddress: 0, limit: 0xFFFFF), // code: G, L; P, S, type 0xB
        Descriptor(flags: 0xC, access: 0x93, baseAddress: 0, limit: 0xFFFFF), // data: G, D/B; P, S, type 0x3
        Descriptor(flags: 0x0, access: 0x8B, baseAddress: 0, limit: 0x67),    // TSS: P, type 0xB (busy)
    ];

    /// <summary>
    /// The same selectors for the PVH entry (xen docs/misc/pvh.pandoc): CS a 32-bit read/execute
    /// segment and DS/ES/SS 32-bit read/write, base 0, limit 4 GiB; TR a 32-bit TSS, base 0, limit 0x67.
    /// </summary>
    public static readonly ulong[] PvhEntries =
    [
        0,
        0,
        Descriptor(flags: 0xC, access: 0x9B, baseAddress: 0, limit: 0xFFFFF), // code: G, D/B; P, S, type 0xB
        Descriptor(flags: 0xC, access: 0x93, baseAddress: 0, limit: 0xFFFFF), // data: G, D/B; P, S, type 0x3
        Descriptor(flags: 0x0, access: 0x8B, baseAddress: 0, limit: 0x67),    // TSS: P, type 0xB (busy)
    ];

    public static ulong Descriptor(byte flags, byte access, uint baseAddress, uint limit) =>
        ((ulong)(baseAddress & 0xFF000000) << 32)
        | ((ulong)(flags & 0xF) << 52)
        | ((ulong)(limit & 0xF0000) << 32)
        | ((ulong)access << 40)
        | ((ulong)(baseAddress & 0x00FFFFFF) << 16)
        | (limit & 0xFFFF);

    /// <summary>The kvm_segment KVM needs for the descriptor at <paramref name="selector"/> of <paramref name="table"/> (default <see cref="Entries"/>).</summary>
    public static KvmSegment Segment(ushort selector, ulong[]? table = null)
    {
        ulong d = (table ?? Entries)[selector >> 3];
        uint limit = (uint)((d & 0xFFFF) | ((d >> 32) & 0xF0000));
        bool granular = ((d >> 55) & 1) != 0;
        return new KvmSegment
        {
            Base = ((d >> 16) & 0xFFFFFF) | ((d >> 32) & 0xFF000000),
            Limit = granular ? (limit << 12) | 0xFFF : limit,
            Selector = selector,
            Type = (byte)((d >> 40) & 0xF),
            S = (byte)((d >> 44) & 1),
            Dpl = (byte)((d >> 45) & 3),
            Present = (byte)((d >> 47) & 1),
            Avl = (byte)((d >> 52) & 1),
            L = (byte)((d >> 53) & 1),
            Db = (byte)((d >> 54) & 1),
            G = (byte)((d >> 55) & 1),
        };
    }

    public static void Write(GuestMemory memory, ulong[]? table = null)
    {
        table ??= Entries;
        for (int i = 0; i < table.Length; i++)
            memory.Write(Layout.GdtAddress + (ulong)i * 8, table[i]);
        memory.Write(Layout.IdtAddress, 0UL);
    }
}
