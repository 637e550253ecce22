using Csvmm.Vmm.Config;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Boot;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// The kernel and initrd loader (src/Vmm/Boot): <see cref="KernelImage.Parse"/> of a bzImage or ELF
/// vmlinux, then <see cref="KernelLoader.Load"/> into guest RAM. Input: memory-size byte, flags byte
/// (bit 0: with an initrd), u16 command-line length, u32 kernel length, the kernel bytes, then the
/// initrd. A bad file must end in <see cref="BootException"/>, a misfit in <see cref="ConfigLimitException"/>.
/// </summary>
public sealed class BootTarget : IFuzzTarget
{
    private static readonly int[] MemoryMiB = [2, 34, 48];

    // One array for every size: the loader is given the chosen size and checks addresses against it.
    private readonly FuzzMemory[] _memories = new FuzzMemory[MemoryMiB.Length];
    private readonly byte[][] _cmdlines = new byte[3][];

    public BootTarget()
    {
        _cmdlines[0] = "console=ttyS0"u8.ToArray();
        _cmdlines[1] = new byte[2048];
        _cmdlines[2] = new byte[70000];
        _cmdlines[1].AsSpan().Fill((byte)'a');
        _cmdlines[2].AsSpan().Fill((byte)'b');
    }

    public string Name => "boot";

    public string Description => "memory byte, flags byte, u16 cmdline selector, u32 kernel length, kernel, initrd";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        int sel = input.U8() % MemoryMiB.Length;
        byte flags = input.U8();
        var cmdline = _cmdlines[input.U16() % _cmdlines.Length];
        int kernelLength = (int)Math.Min(input.U32(), (uint)input.Remaining);
        byte[] kernel = input.Bytes(kernelLength).ToArray();
        byte[]? initrd = (flags & 1) != 0 ? input.Rest().ToArray() : null;

        KernelImage image;
        try
        {
            image = KernelImage.Parse("fuzz-kernel", kernel);
        }
        catch (BootException)
        {
            return;
        }

        var memory = _memories[sel] ??= new FuzzMemory(MemoryMiB[sel] << 20);
        ulong initrdAddress;
        try
        {
            initrdAddress = KernelLoader.Load(memory.Guest, (ulong)memory.Size, image, initrd, cmdline);
        }
        catch (ConfigLimitException)
        {
            return;
        }

        // What the guest relies on once loading succeeded (the x86 boot protocol,
        // Documentation/arch/x86/boot.rst: cmd_line_ptr, initrd_addr_max): a NUL-terminated command
        // line inside its area, and an initrd above the kernel and below initrd_addr_max.
        if ((ulong)cmdline.Length >= Layout.CmdlineMaxSize)
            throw new FuzzInvariantException($"a {cmdline.Length}-byte command line was loaded into the {Layout.CmdlineMaxSize}-byte area");
        if (initrd is { Length: > 0 }
            && (initrdAddress < image.KernelEnd || initrdAddress + (ulong)initrd.Length - 1 > image.InitrdAddrMax))
            throw new FuzzInvariantException($"initrd at 0x{initrdAddress:x} overlaps the kernel or passes initrd_addr_max");
    }
}
