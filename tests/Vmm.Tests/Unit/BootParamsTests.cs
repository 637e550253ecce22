using System.Buffers.Binary;
using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Boot;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class BootParamsTests
{
    [Fact]
    public void Elf_zero_page_has_loader_fields_e820_and_a_nonzero_kernel_alignment()
    {
        var k = KernelImage.Parse("k", Support.TinyKernel.Elf([0xF4]));
        var e820 = E820Entry.For(128UL << 20);
        var zp = BootParams.Build(k, 0x20000, 100, 0x7000000, 0x123456, e820);
        Assert.Equal(0xFF, zp[SetupHeader.TypeOfLoaderOffset]);
        Assert.Equal(0x20000u, BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(SetupHeader.CmdLinePtrOffset)));
        Assert.Equal(0x7000000u, BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(SetupHeader.RamdiskImageOffset)));
        Assert.Equal(0x123456u, BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(SetupHeader.RamdiskSizeOffset)));
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(SetupHeader.KernelAlignmentOffset)));
        Assert.Equal(0xAA55, BinaryPrimitives.ReadUInt16LittleEndian(zp.AsSpan(SetupHeader.BootFlagOffset)));
        Assert.Equal(e820.Length, zp[BootParams.E820EntriesOffset]);
        var last = zp.AsSpan(BootParams.E820TableOffset + (e820.Length - 1) * 20);
        Assert.Equal(0x100000UL, BinaryPrimitives.ReadUInt64LittleEndian(last));
        Assert.Equal((128UL << 20) - 0x100000, BinaryPrimitives.ReadUInt64LittleEndian(last[8..]));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(last[16..]));
    }

    [Fact]
    public void Sentinel_byte_stays_zero()
    {
        var k = KernelImage.Parse("k", Support.TinyKernel.Elf([0xF4]));
        var zp = BootParams.Build(k, 0x20000, 10, 0, 0, E820Entry.For(64UL << 20));
        Assert.Equal(0, zp[0x1EF]);
    }
}
