using Csvmm.Host.Memory;
using Csvmm.Kvm;

namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>
/// Identity-mapped page tables for the 64-bit boot entry: one PML4 entry, one PDPT entry per GiB,
/// 2 MiB pages, covering the whole first 4 GiB: all low RAM (kernel, boot_params, command line,
/// initrd) and the MMIO hole, so even code running before the kernel's own tables can reach
/// devices. RAM above 4 GiB is not needed before the kernel builds its own tables.
/// </summary>
public static class PageTables
{
    private const ulong Present = 0x1, Writable = 0x2, PageSize = 0x80;
    private const ulong TwoMiB = 0x200000;
    private const ulong OneGiB = 0x40000000;

    /// <summary>Writes the tables; returns the CR3 value.</summary>
    public static ulong Write(GuestMemory memory)
    {
        const int dirs = Layout.MaxPageDirectories;
        memory.Fill(Layout.Pml4Address, 0x1000, 0);
        memory.Fill(Layout.PdptAddress, 0x1000, 0);
        memory.Write(Layout.Pml4Address, Layout.PdptAddress | Present | Writable);
        for (int d = 0; d < dirs; d++)
        {
            ulong pd = Layout.PdAddress + (ulong)d * 0x1000;
            memory.Write(Layout.PdptAddress + (ulong)d * 8, pd | Present | Writable);
            for (ulong i = 0; i < 512; i++)
            {
                ulong address = (ulong)d * OneGiB + i * TwoMiB;
                memory.Write(pd + i * 8, address | Present | Writable | PageSize);
            }
        }
        return Layout.Pml4Address;
    }
}
