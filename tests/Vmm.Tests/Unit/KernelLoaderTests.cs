using Csvmm.Vmm.Config;
using Csvmm.Host.Memory;
using System.Buffers.Binary;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Boot;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class KernelLoaderTests
{
    private const int MemoryBytes = 48 << 20;

    /// <summary>A minimal bzImage: 2.15 header, one setup sector, 64 KiB init_size, a short payload.</summary>
    private static byte[] BzImage(uint cmdlineSize = 2047, uint initrdAddrMax = 0x37FFFFFF)
    {
        var b = new byte[2048];
        b[SetupHeader.SetupSectsOffset] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(SetupHeader.BootFlagOffset), SetupHeader.BootFlagMagic);
        b[SetupHeader.JumpOffset + 1] = 0x62; // header ends at 0x264
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.HeaderMagicOffset), SetupHeader.HeaderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(SetupHeader.VersionOffset), 0x020F);
        b[SetupHeader.LoadFlagsOffset] = SetupHeader.LoadFlagLoadedHigh;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.InitrdAddrMaxOffset), initrdAddrMax);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.KernelAlignmentOffset), 0x200000);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(SetupHeader.XLoadFlagsOffset), SetupHeader.XLoadFlagKernel64);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.CmdlineSizeOffset), cmdlineSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.InitSizeOffset), 0x10000);
        b.AsSpan(1024).Fill(0x90);
        return b;
    }

    private static (byte[] Ram, GuestMemory Memory) Ram()
    {
        var ram = new byte[MemoryBytes];
        return (ram, GuestMemory.FromArray(ram));
    }

    [Fact]
    public void Kernel_initrd_and_cmdline_land_where_boot_params_say()
    {
        var (ram, mem) = Ram();
        using var _ = mem;
        var kernel = KernelImage.Parse("k", BzImage());
        byte[] initrd = [1, 2, 3, 4, 5];
        ulong at = KernelLoader.Load(mem, MemoryBytes, kernel, initrd, "console=ttyS0"u8.ToArray());

        Assert.Equal(0x90, ram[Layout.BzImageLoadAddress]);
        Assert.Equal(0UL, at % 0x1000);
        Assert.True(at >= kernel.KernelEnd && at + 5 <= MemoryBytes);
        Assert.Equal(initrd, ram.AsSpan((int)at, 5).ToArray());
        Assert.Equal("console=ttyS0\0"u8.ToArray(), ram.AsSpan((int)Layout.CmdlineAddress, 14).ToArray());
        var zp = ram.AsSpan((int)Layout.ZeroPageAddress);
        Assert.Equal((uint)at, BinaryPrimitives.ReadUInt32LittleEndian(zp[SetupHeader.RamdiskImageOffset..]));
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(zp[SetupHeader.RamdiskSizeOffset..]));
    }

    [Fact]
    public void Memory_too_small_for_the_kernel_is_refused()
    {
        using var mem = GuestMemory.FromArray(new byte[32 << 20]);
        var kernel = KernelImage.Parse("k", BzImage());
        var e = Assert.Throws<ConfigLimitException>(() => KernelLoader.Load(mem, 32 << 20, kernel, (byte[]?)null, []));
        Assert.Contains("too small", e.Message);
    }

    [Fact]
    public void Initrd_below_the_kernel_end_is_refused()
    {
        var (_, mem) = Ram();
        using var __ = mem;
        var kernel = KernelImage.Parse("k", BzImage(initrdAddrMax: 0x00FFFFFF));
        var e = Assert.Throws<ConfigLimitException>(() => KernelLoader.Load(mem, MemoryBytes, kernel, [1], []));
        Assert.Contains("no room", e.Message);
    }

    [Fact]
    public void Command_line_longer_than_the_kernel_accepts_is_refused()
    {
        var (_, mem) = Ram();
        using var __ = mem;
        var kernel = KernelImage.Parse("k", BzImage(cmdlineSize: 10));
        var e = Assert.Throws<ConfigLimitException>(() => KernelLoader.Load(mem, MemoryBytes, kernel, (byte[]?)null, new byte[11]));
        Assert.Contains("at most 10", e.Message);
    }

    [Fact]
    public void Command_line_longer_than_its_area_is_refused_whatever_cmdline_size_says()
    {
        // Regression (boot fuzz target): a header with cmdline_size above 64 KiB let a 70000-byte
        // line run past the command-line area without its NUL.
        var (ram, mem) = Ram();
        using var __ = mem;
        var kernel = KernelImage.Parse("k", BzImage(cmdlineSize: 0x20000));
        byte[] line = new byte[Layout.CmdlineMaxSize];
        line.AsSpan().Fill((byte)'b');
        var e = Assert.Throws<ConfigLimitException>(() => KernelLoader.Load(mem, MemoryBytes, kernel, (byte[]?)null, line));
        Assert.Contains($"at most {Layout.CmdlineMaxSize - 1}", e.Message);
        Assert.Equal(0, ram[Layout.CmdlineAddress + Layout.CmdlineMaxSize]);

        KernelLoader.Load(mem, MemoryBytes, kernel, (byte[]?)null, line[..^1]);
        Assert.Equal(0, ram[Layout.CmdlineAddress + Layout.CmdlineMaxSize - 1]);
    }
}
