using System.Buffers.Binary;
using Csvmm.Vmm.Boot;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class SetupHeaderTests
{
    /// <summary>A well-formed header: 2.15, bzImage, 64-bit entry, 4 setup sectors, some payload.</summary>
    private static byte[] ValidImage(int size = 8192)
    {
        var b = new byte[size];
        b[SetupHeader.SetupSectsOffset] = 4;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(SetupHeader.BootFlagOffset), 0xAA55);
        b[SetupHeader.JumpOffset] = 0xEB;
        b[SetupHeader.JumpOffset + 1] = 0x6A; // header ends at 0x26C
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.HeaderMagicOffset), 0x53726448);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(SetupHeader.VersionOffset), 0x020F);
        b[SetupHeader.LoadFlagsOffset] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.InitrdAddrMaxOffset), 0x7FFFFFFF);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.KernelAlignmentOffset), 0x200000);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(SetupHeader.XLoadFlagsOffset), 0x7F);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.CmdlineSizeOffset), 2047);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(SetupHeader.InitSizeOffset), 0x800000);
        return b;
    }

    [Fact]
    public void Valid_header_is_parsed()
    {
        var h = SetupHeader.Parse(ValidImage(), "k");
        Assert.Equal(0x020F, h.Version);
        Assert.Equal(5 * 512, h.SetupSize);
        Assert.Equal(0x26C, h.HeaderEnd);
        Assert.Equal(0x7FFFFFFFu, h.InitrdAddrMax);
        Assert.Equal(2047u, h.CmdlineSize);
    }

    [Fact]
    public void Bzimage_entry_is_load_address_plus_0x200_and_kernel_end_covers_init_size()
    {
        var k = KernelImage.Parse("k", ValidImage());
        Assert.Equal(KernelFormat.BzImage, k.Format);
        Assert.Equal(0x100200UL, k.EntryPoint);
        Assert.Equal(0x1000000UL + 0x800000UL, k.KernelEnd);
        Assert.Equal(0x100000UL, k.Segments[0].GuestAddress);
        Assert.Equal(5 * 512, k.Segments[0].FileOffset);
    }

    [Fact]
    public void Truncated_file_is_refused()
    {
        var e = Assert.Throws<BootException>(() => KernelImage.Parse("k", ValidImage()[..0x200]));
        Assert.Contains("too short", e.Message);
    }

    [Fact]
    public void Setup_larger_than_file_is_refused()
    {
        var img = ValidImage(0x400);
        img[SetupHeader.SetupSectsOffset] = 30;
        Assert.Contains("truncated", Assert.Throws<BootException>(() => KernelImage.Parse("k", img)).Message);
    }

    [Fact]
    public void Wrong_boot_flag_is_refused()
    {
        var img = ValidImage();
        img[SetupHeader.BootFlagOffset] = 0;
        Assert.Contains("0xAA55", Assert.Throws<BootException>(() => KernelImage.Parse("k", img)).Message);
    }

    [Fact]
    public void Wrong_header_magic_is_refused()
    {
        var img = ValidImage();
        img[SetupHeader.HeaderMagicOffset] = (byte)'X';
        Assert.Contains("HdrS", Assert.Throws<BootException>(() => KernelImage.Parse("k", img)).Message);
    }

    [Fact]
    public void Protocol_older_than_2_12_is_refused()
    {
        var img = ValidImage();
        BinaryPrimitives.WriteUInt16LittleEndian(img.AsSpan(SetupHeader.VersionOffset), 0x020A);
        Assert.Contains("2.10", Assert.Throws<BootException>(() => KernelImage.Parse("k", img)).Message);
    }

    [Fact]
    public void Image_without_64_bit_entry_is_refused()
    {
        var img = ValidImage();
        BinaryPrimitives.WriteUInt16LittleEndian(img.AsSpan(SetupHeader.XLoadFlagsOffset), 0x7E);
        Assert.Contains("64-bit entry", Assert.Throws<BootException>(() => KernelImage.Parse("k", img)).Message);
    }

    [Fact]
    public void Zimage_is_refused()
    {
        var img = ValidImage();
        img[SetupHeader.LoadFlagsOffset] = 0;
        Assert.Contains("zImage", Assert.Throws<BootException>(() => KernelImage.Parse("k", img)).Message);
    }

    [Fact]
    public void Random_bytes_are_not_a_kernel()
    {
        var img = new byte[4096];
        new Random(1).NextBytes(img);
        Assert.Throws<BootException>(() => KernelImage.Parse("k", img));
    }

    [Fact]
    public void Elf_for_another_architecture_is_refused()
    {
        var elf = Support.TinyKernel.Elf([0xF4]);
        elf[18] = 183; // EM_AARCH64
        Assert.Contains("architecture", Assert.Throws<BootException>(() => KernelImage.Parse("k", elf)).Message);
    }

    [Fact]
    public void Elf_vmlinux_loads_at_its_physical_addresses()
    {
        var k = KernelImage.Parse("k", Support.TinyKernel.Elf([0xF4, 0xEB, 0xFD]));
        Assert.Equal(KernelFormat.Elf, k.Format);
        Assert.Equal(Support.TinyKernel.LoadAddress, k.EntryPoint);
        Assert.Equal(Support.TinyKernel.LoadAddress, k.Segments.Single().GuestAddress);
    }
}
