using Csvmm.Host.Memory;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class MemoryMapTests
{
    private const ulong MiB = 1 << 20, GiB = 1UL << 30;

    [Fact]
    public void E820_for_128_MiB_has_low_ram_reserved_ebda_and_high_ram()
    {
        Assert.Equal(new[]
        {
            new E820Entry(0, 0x9FC00, E820Entry.Ram),
            new E820Entry(0x9FC00, 0x100000 - 0x9FC00, E820Entry.Reserved),
            new E820Entry(0x100000, 128 * MiB - 0x100000, E820Entry.Ram),
        }, E820Entry.For(128 * MiB));
    }

    [Fact]
    public void E820_for_3_GiB_stops_at_the_mmio_hole()
    {
        var map = E820Entry.For(3 * GiB);
        Assert.Equal(3, map.Length);
        Assert.Equal(Layout.MmioHoleStart, map[2].Address + map[2].Size);
    }

    [Fact]
    public void E820_for_5_GiB_continues_above_4_GiB_and_never_touches_the_hole()
    {
        var map = E820Entry.For(5 * GiB);
        Assert.Equal(4, map.Length);
        Assert.Equal(Layout.MmioHoleStart, map[2].Address + map[2].Size);
        Assert.Equal(new E820Entry(4 * GiB, 5 * GiB - Layout.MmioHoleStart, E820Entry.Ram), map[3]);
        ulong ram = map.Where(e => e.Type == E820Entry.Ram).Aggregate(0UL, (s, e) => s + e.Size);
        Assert.Equal(5 * GiB - (0x100000 - 0x9FC00), ram);
        foreach (var e in map.Where(e => e.Type == E820Entry.Ram))
            Assert.True(e.Address + e.Size <= Layout.MmioHoleStart || e.Address >= 4 * GiB);
    }

    [Theory]
    [InlineData(128UL << 20, 1)]
    [InlineData(3UL << 30, 1)]
    [InlineData(5UL << 30, 2)]
    public void Ram_regions_split_around_the_hole(ulong size, int regions)
    {
        var r = Layout.RamRegions(size);
        Assert.Equal(regions, r.Length);
        Assert.Equal(size, r.Aggregate(0UL, (s, x) => s + x.Size));
    }

    [Theory]
    [InlineData(128UL << 20)]
    [InlineData(3UL << 30)]
    [InlineData(5UL << 30)]
    public void Page_tables_identity_map_all_low_ram_and_the_hole_with_2_MiB_pages(ulong size)
    {
        var buffer = new byte[0x10000];
        using var mem = GuestMemory.FromArray(buffer);
        ulong cr3 = PageTables.Write(mem);
        Assert.Equal(Layout.Pml4Address, cr3);
        ulong pml4e = mem.Read<ulong>(cr3);
        Assert.Equal(Layout.PdptAddress | 3, pml4e);
        ulong lowEnd = Layout.LowMemoryEnd(size);
        // Walk every 2 MiB page of low RAM and of the MMIO hole: it must map to itself.
        for (ulong va = 0; va < 4 * GiB; va += 2 * MiB)
        {
            ulong pdpte = mem.Read<ulong>((pml4e & ~0xFFFUL) + (va >> 30) * 8);
            Assert.True((pdpte & 1) != 0, $"PDPT entry for 0x{va:x} not present");
            ulong pde = mem.Read<ulong>((pdpte & ~0xFFFUL) + ((va >> 21) & 511) * 8);
            Assert.Equal(va | 0x83, pde);
        }
        Assert.True(lowEnd <= 4 * GiB);
        // Nothing beyond 4 GiB is mapped at boot.
        Assert.Equal(0UL, mem.Read<ulong>(Layout.PdptAddress + 4 * 8));
    }

    [Fact]
    public void Gdt_code_segment_is_64_bit_and_data_segment_is_flat()
    {
        var cs = Gdt.Segment(Gdt.CodeSelector);
        Assert.Equal(1, cs.L);
        Assert.Equal(0, cs.Db);
        Assert.Equal(0xB, cs.Type);
        Assert.Equal(0xFFFFFFFFu, cs.Limit);
        var ds = Gdt.Segment(Gdt.DataSelector);
        Assert.Equal(1, ds.Db);
        Assert.Equal(3, ds.Type);
        var tr = Gdt.Segment(Gdt.TssSelector);
        Assert.Equal(0xB, tr.Type);
        Assert.Equal(0, tr.S);
        Assert.Equal(0x00AF9B000000FFFFUL, Gdt.Entries[2]);
        Assert.Equal(0x00CF93000000FFFFUL, Gdt.Entries[3]);
    }

    [Fact]
    public void Virtio_resources_skip_legacy_irqs_and_use_4k_windows()
    {
        var alloc = new ResourceAllocator();
        var list = Enumerable.Range(0, 8).Select(_ => alloc.AllocateVirtio()).ToList();
        Assert.Equal(0xD0000000UL, list[0].MmioBase);
        Assert.Equal(0xD0001000UL, list[1].MmioBase);
        Assert.Equal(new uint[] { 5, 6, 7, 9, 10, 11, 13, 14 }, list.Select(x => x.Gsi));
    }
}
