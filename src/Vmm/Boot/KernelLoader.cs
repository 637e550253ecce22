using Csvmm.Host.Memory;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Config;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// Writes a parsed kernel, its initrd, the command line and boot_params into guest memory
/// (Documentation/arch/x86/boot.rst in the kernel tree), or for a PVH kernel hvm_start_info
/// (<see cref="PvhStartInfo"/>).
/// Every size and address comes from the kernel file or the initrd, so each is checked against the
/// memory size before anything is written; a misfit is a <see cref="ConfigLimitException"/>. Kept apart
/// from the VM (no KVM) so the fuzz target in tests/Fuzz can drive it over a plain byte array.
/// </summary>
public static class KernelLoader
{
    /// <summary>Slack above the kernel's own footprint (and initrd) that the guest needs to get going.</summary>
    public const ulong MinimumFreeMemory = 16UL << 20;

    /// <summary>Loads everything and returns the initrd's guest address (0 without one).</summary>
    public static ulong Load(GuestMemory memory, ulong memoryBytes, KernelImage kernel, byte[]? initrd, byte[] cmdline) =>
        Load(memory, memoryBytes, kernel, initrd is null ? null : ImageSource.FromBytes("initrd", initrd), cmdline);

    /// <summary>
    /// Loads everything, reading kernel segments and the initrd straight from their files into guest
    /// memory (nothing of them is kept on the heap), and returns the initrd's guest address (0 without one).
    /// </summary>
    public static ulong Load(GuestMemory memory, ulong memoryBytes, KernelImage kernel, ImageSource? initrd, byte[] cmdline)
    {
        ulong lowEnd = Layout.LowMemoryEnd(memoryBytes);
        ulong initrdLength = (ulong)(initrd?.Length ?? 0);
        ulong needed = kernel.KernelEnd + AlignUp(initrdLength, 0x1000) + MinimumFreeMemory;
        if (needed > lowEnd)
            throw new ConfigLimitException(
                $"--memory {memoryBytes >> 20} MiB is too small for this kernel{(initrd is null ? "" : " and initrd")}: " +
                $"at least {(needed + (1 << 20) - 1) >> 20} MiB needed");

        foreach (var seg in kernel.Segments)
        {
            if (!memory.IsValidRange(seg.GuestAddress, seg.MemorySize))
                throw new ConfigLimitException($"kernel segment at 0x{seg.GuestAddress:x} does not fit in {memoryBytes >> 20} MiB of guest memory");
            kernel.Source.Read(seg.FileOffset, memory.GetSpan(seg.GuestAddress, seg.FileSize));
        }

        ulong initrdAddress = 0;
        if (initrd is { Length: > 0 })
        {
            ulong limit = Math.Min(lowEnd, kernel.InitrdAddrMax + 1);
            initrdAddress = AlignDown(limit - initrdLength, 0x1000);
            if (limit < initrdLength || initrdAddress < kernel.KernelEnd || initrdLength > int.MaxValue)
                throw new ConfigLimitException($"no room for the {initrdLength >> 20} MiB initrd below 0x{limit:x}: raise --memory");
            initrd.Read(0, memory.GetSpan(initrdAddress, (int)initrdLength));
        }

        // cmdline_size comes from the kernel file and may exceed the area the layout reserves: the
        // line and its NUL must fit both (found by the boot fuzz target).
        ulong cmdlineMax = Math.Min(kernel.CmdlineMax, Layout.CmdlineMaxSize - 1);
        if ((ulong)cmdline.Length > cmdlineMax)
            throw new ConfigLimitException($"kernel command line is {cmdline.Length} bytes; this kernel accepts at most {cmdlineMax}");
        memory.Fill(Layout.CmdlineAddress, (int)Layout.CmdlineMaxSize, 0);
        memory.Write(Layout.CmdlineAddress, cmdline);

        var map = E820Entry.For(memoryBytes);
        if (kernel.Format == KernelFormat.Pvh)
        {
            // PVH: hvm_start_info instead of boot_params; the initrd travels as module 0.
            var (info, modules, memmap) = PvhStartInfo.Build(Layout.CmdlineAddress, initrdAddress, initrdLength, map);
            memory.Write(Layout.PvhStartInfoAddress, info);
            memory.Write(Layout.PvhModlistAddress, modules);
            memory.Write(Layout.PvhMemmapAddress, memmap);
            return initrdAddress;
        }
        var zeroPage = BootParams.Build(kernel, Layout.CmdlineAddress, cmdline.Length,
            initrdAddress, initrdLength, map);
        memory.Write(Layout.ZeroPageAddress, zeroPage);
        return initrdAddress;
    }

    private static ulong AlignUp(ulong v, ulong a) => (v + a - 1) & ~(a - 1);
    private static ulong AlignDown(ulong v, ulong a) => v & ~(a - 1);
}
