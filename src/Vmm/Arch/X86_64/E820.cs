namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>One BIOS e820 memory-map entry.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, uint Type)
{
    public const uint Ram = 1;
    public const uint Reserved = 2;

    /// <summary>
    /// The map for a guest with <paramref name="memorySize"/> bytes (Documentation/arch/x86/zero-page.rst, e820_table): RAM below the
    /// EBDA, the EBDA/legacy window reserved (the MP table lives there), RAM from 1 MiB to the hole,
    /// and the rest above 4 GiB. RAM never reaches into the MMIO hole.
    /// </summary>
    public static E820Entry[] For(ulong memorySize)
    {
        var list = new List<E820Entry>
        {
            new(0, Layout.EbdaStart, Ram),
            new(Layout.EbdaStart, Layout.HighMemoryStart - Layout.EbdaStart, Reserved),
        };
        ulong low = Layout.LowMemoryEnd(memorySize);
        if (low > Layout.HighMemoryStart)
            list.Add(new(Layout.HighMemoryStart, low - Layout.HighMemoryStart, Ram));
        if (memorySize > Layout.MmioHoleStart)
            list.Add(new(Layout.FourGiB, memorySize - Layout.MmioHoleStart, Ram));
        return list.ToArray();
    }
}
