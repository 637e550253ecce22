namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>
/// The guest-physical memory map, top to bottom of the first 4 GiB, then above it. Everything csvmm
/// places in the guest is named here (Firecracker's arch/x86_64/layout.rs is the model).
/// </summary>
public static class Layout
{
    // ---- Low memory: boot structures (below 1 MiB) ----
    /// <summary>GDT: null, unused, code 0x10, data 0x18, TSS 0x20.</summary>
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x520;
    /// <summary>PVH boot: hvm_start_info (EBX points here at the 32-bit entry), its module list and memory map.</summary>
    public const ulong PvhStartInfoAddress = 0x6000;
    public const ulong PvhModlistAddress = 0x6040;
    public const ulong PvhMemmapAddress = 0x6080;
    public const ulong PvhMemmapEnd = 0x7000;
    /// <summary>boot_params, "the zero page"; RSI points here at the 64-bit entry.</summary>
    public const ulong ZeroPageAddress = 0x7000;
    public const ulong BootStackPointer = 0x8FF0;
    public const ulong Pml4Address = 0x9000;
    public const ulong PdptAddress = 0xA000;
    /// <summary>Up to four page directories (2 MiB pages), identity-mapping up to 4 GiB.</summary>
    public const ulong PdAddress = 0xB000;
    public const int MaxPageDirectories = 4;
    public const ulong CmdlineAddress = 0x20000;
    public const ulong CmdlineMaxSize = 0x10000;
    /// <summary>The MP table sits in the last KiB below the EBDA boundary, a place Linux scans.</summary>
    public const ulong MpTableAddress = 0x9FC00;
    public const ulong MpTableMaxSize = 0x400;
    /// <summary>End of the first e820 RAM entry; 0x9FC00-0xFFFFF is reserved (MP table, legacy VGA/BIOS).</summary>
    public const ulong EbdaStart = 0x9FC00;
    public const ulong HighMemoryStart = 0x100000;

    // ---- Kernel ----
    /// <summary>Where a bzImage's protected-mode part is loaded (the boot protocol's default).</summary>
    public const ulong BzImageLoadAddress = 0x100000;
    /// <summary>The 64-bit entry is 0x200 past the protected-mode start (boot protocol 2.12+).</summary>
    public const ulong BzImage64BitEntryOffset = 0x200;
    /// <summary>Linux's default CONFIG_PHYSICAL_START: where the decompressed kernel runs.</summary>
    public const ulong KernelPhysicalStart = 0x1000000;

    // ---- The 32-bit MMIO hole ----
    /// <summary>Guest RAM stops here below 4 GiB; [MmioHoleStart, 4 GiB) is devices only.</summary>
    public const ulong MmioHoleStart = 0xC0000000;
    public const ulong FourGiB = 0x1_0000_0000;
    /// <summary>csvmm's guest-control page: exit status and boot-time marker.</summary>
    public const ulong GuestControlAddress = 0xC0000000;
    public const ulong GuestControlSize = 0x1000;
    /// <summary>virtio-mmio windows, one 4 KiB page per device.</summary>
    public const ulong VirtioMmioBase = 0xD0000000;
    public const ulong VirtioMmioWindowSize = 0x1000;
    /// <summary>Room for this many windows before the IOAPIC at 0xFEC00000; the GSIs run out long before.</summary>
    public const int VirtioMmioWindows = 64;
    /// <summary>
    /// Where csvmm places PCI BARs (and where it lets the guest move them): above the virtio-mmio
    /// windows, below the IOAPIC. Nothing else lives here, and it is never RAM.
    /// </summary>
    public const ulong PciMmioStart = 0xE0000000;
    public const ulong PciMmioEnd = 0xFEC00000;
    public const ulong IoApicAddress = 0xFEC00000;
    public const ulong LapicAddress = 0xFEE00000;
    /// <summary>KVM's real-mode scratch pages (Intel): identity map, then the 3-page TSS.</summary>
    public const ulong IdentityMapAddress = 0xFFFBC000;
    public const ulong TssAddress = 0xFFFBD000;

    // ---- Legacy I/O ports ----
    public const ushort Com1Port = 0x3F8;
    public const ushort Com1Length = 8;
    public const uint Com1Gsi = 4;
    public const ushort I8042Port = 0x60;
    public const ushort I8042Length = 5;
    /// <summary>ISA IRQ 1, the keyboard: what the i8042 raises for injected keys (Ctrl+Alt+Del).</summary>
    public const uint KeyboardGsi = 1;
    /// <summary>PCI configuration mechanism #1: CONFIG_ADDRESS and CONFIG_DATA.</summary>
    public const ushort PciConfigPort = 0xCF8;
    public const ushort PciConfigLength = 8;

    // ---- Interrupts ----
    /// <summary>IOAPIC pins; GSIs 5..23 are free for virtio devices (0-4, 8, 12 are legacy).</summary>
    public const uint IoApicPins = 24;
    public const uint FirstVirtioGsi = 5;

    /// <summary>First GSI for MSI routes: after the IOAPIC's pins, which keep KVM's default routes.</summary>
    public const uint FirstMsiGsi = IoApicPins;

    /// <summary>GSIs the PC platform already uses above <see cref="FirstVirtioGsi"/>: 8 (RTC) and 12 (PS/2 mouse).</summary>
    public static bool IsLegacyGsi(uint gsi) => gsi is 8 or 12;

    /// <summary>The guest RAM regions for <paramref name="memorySize"/> bytes: split around the MMIO hole.</summary>
    public static (ulong GuestAddress, ulong Size)[] RamRegions(ulong memorySize)
    {
        if (memorySize <= MmioHoleStart)
            return [(0, memorySize)];
        return [(0, MmioHoleStart), (FourGiB, memorySize - MmioHoleStart)];
    }

    /// <summary>End of guest RAM below the hole (exclusive).</summary>
    public static ulong LowMemoryEnd(ulong memorySize) => Math.Min(memorySize, MmioHoleStart);

    /// <summary>Base address of the n-th virtio-mmio window.</summary>
    public static ulong VirtioMmioAddress(int index) => VirtioMmioBase + (ulong)index * VirtioMmioWindowSize;
}
