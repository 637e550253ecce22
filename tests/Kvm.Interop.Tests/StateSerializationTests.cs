using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Csvmm.Kvm.State;
using Xunit;

namespace Csvmm.Kvm.Tests;

/// <summary>
/// The serialized vCPU and VM state: exact round trips, and every damaged, truncated, foreign or
/// inconsistent image refused with a <see cref="KvmStateFormatException"/> (never another exception).
/// </summary>
public sealed unsafe class StateSerializationTests
{
    // Component tags as VcpuState/VmState write them (the format's numbers, part of version 1).
    private const ushort VcpuIdTag = 1, TscKhzTag = 3, RegsTag = 5, XsaveTag = 7, FpuTag = 8, MsrsTag = 12;
    private const ushort PicSlaveTag = 2;

    private static VcpuState SampleVcpu()
    {
        var sregs = new KvmSregs { Cr0 = 0x80050033, Cr3 = 0x1000, Cr4 = 0x6F0, Efer = 0xD01, ApicBase = 0xFEE00900 };
        sregs.Cs = new KvmSegment { Base = 0, Limit = 0xFFFFFFFF, Selector = 0x10, Type = 0xB, Present = 1, S = 1, L = 1, G = 1 };
        var lapic = new KvmLapicState();
        lapic.SetRegister(0x350, 0x700);
        var xcrs = new KvmXcrs { NrXcrs = 1 };
        xcrs.SetXcr(0, new KvmXcr { Xcr = 0, Value = 0x7 });
        var debug = new KvmDebugRegs { Dr6 = 0xFFFF0FF0, Dr7 = 0x400 };
        debug.Db[2] = 0xDEAD000;
        var xsave = new byte[KvmXsave.LegacySize];
        for (int i = 0; i < xsave.Length; i++) xsave[i] = (byte)(i * 7);
        return new VcpuState
        {
            VcpuId = 3,
            Cpuid = [new KvmCpuidEntry2 { Function = 0, Eax = 0x16, Ebx = 0x756E6547 }, new KvmCpuidEntry2 { Function = 7, Index = 0, Flags = 1, Ebx = 0x29C67AF }],
            TscKhz = 2_596_138,
            MpState = new KvmMpState { MpState = KvmMpState.Halted },
            Regs = new KvmRegs { Rip = 0xFFFFFFFF81000000, Rsp = 0xFFFFC90000003F00, R12 = 42, Rflags = 0x246 },
            Sregs = sregs,
            Xsave = xsave,
            Xcrs = xcrs,
            DebugRegs = debug,
            Lapic = lapic,
            Msrs = [new KvmMsrEntry { Index = 0x10, Data = 123456789 }, new KvmMsrEntry { Index = 0x6E0, Data = 0 }, new KvmMsrEntry { Index = 0xC0000082, Data = 0xFFFFFFFF81A00000 }],
            Events = new KvmVcpuEvents { NmiMasked = 1, InterruptShadow = 1, Flags = KvmVcpuEvents.ValidShadow | KvmVcpuEvents.ValidSmm },
        };
    }

    private static VmState SampleVm()
    {
        static KvmIrqchip Chip(uint id, byte fill)
        {
            var chip = new KvmIrqchip { ChipId = id };
            for (int i = 0; i < KvmIrqchip.ChipSize; i++) chip.Chip[i] = (byte)(fill + i);
            return chip;
        }
        return new VmState
        {
            PicMaster = Chip(KvmIrqchip.PicMaster, 1),
            PicSlave = Chip(KvmIrqchip.PicSlave, 2),
            Ioapic = Chip(KvmIrqchip.Ioapic, 3),
            Pit = new KvmPitState2 { Channel0 = new KvmPitChannelState { Count = 11932, Mode = 2, Gate = 1, CountLoadTime = 987654321 }, Flags = 0 },
            Clock = new KvmClockData { Clock = 5_000_000_000, Flags = KvmClockData.FlagTscStable | KvmClockData.FlagRealtime, Realtime = 1_700_000_000_000_000_000 },
        };
    }

    [Fact]
    public void A_vcpu_state_round_trips_exactly()
    {
        var state = SampleVcpu();
        byte[] image = state.Serialize();
        var back = VcpuState.Deserialize(image);
        Assert.Equal(image, back.Serialize());
        Assert.Equal(3, back.VcpuId);
        Assert.Equal(42UL, back.Regs.R12);
        Assert.Equal(0xFEE00900UL, back.Sregs.ApicBase);
        Assert.Equal(state.Xsave, back.Xsave);
        Assert.Null(back.Fpu);
        Assert.Equal(7UL, back.Xcrs!.Value.GetXcr(0).Value);
        Assert.Equal(0x700u, back.Lapic.GetRegister(0x350));
        Assert.Equal(state.Msrs, back.Msrs);
        Assert.Equal(2_596_138u, back.TscKhz);
        Assert.Equal(KvmMpState.Halted, back.MpState.MpState);
        Assert.Equal(1, back.Events.NmiMasked);
        Assert.Equal(Bytes(state.Cpuid), Bytes(back.Cpuid));
    }

    [Fact]
    public void A_vcpu_state_with_fpu_instead_of_xsave_and_no_tsc_rate_round_trips()
    {
        var fpu = new KvmFpu { Fcw = 0x37F, LastIp = 0x1234 };
        fpu.Xmm[5] = 0x99;
        var state = SampleVcpu() with { Xsave = null, Fpu = fpu, TscKhz = null };
        var back = VcpuState.Deserialize(state.Serialize());
        Assert.Null(back.Xsave);
        Assert.Null(back.TscKhz);
        var backFpu = back.Fpu!.Value;
        Assert.Equal(0x1234UL, backFpu.LastIp);
        Assert.Equal(0x99, backFpu.Xmm[5]);
    }

    [Fact]
    public void A_vm_state_round_trips_exactly()
    {
        byte[] image = SampleVm().Serialize();
        var back = VmState.Deserialize(image);
        Assert.Equal(image, back.Serialize());
        Assert.Equal(KvmIrqchip.PicSlave, back.PicSlave.ChipId);
        Assert.Equal((byte)(3 + 100), back.Ioapic.ChipByte(100));
        Assert.Equal(11932u, back.Pit.Channel0.Count);
        Assert.Equal(5_000_000_000UL, back.Clock.Clock);
    }

    [Fact]
    public void Every_truncation_of_a_vcpu_image_is_refused()
    {
        byte[] image = SampleVcpu().Serialize();
        for (int length = 0; length < image.Length; length++)
            Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image.AsSpan(0, length)));
    }

    [Fact]
    public void Every_truncation_of_a_vm_image_is_refused()
    {
        byte[] image = SampleVm().Serialize();
        for (int length = 0; length < image.Length; length++)
            Assert.Throws<KvmStateFormatException>(() => VmState.Deserialize(image.AsSpan(0, length)));
    }

    [Fact]
    public void A_truncated_image_says_it_is_truncated()
    {
        byte[] image = SampleVcpu().Serialize();
        var e = Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image.AsSpan(0, 3000)));
        Assert.StartsWith("vCPU state is truncated: component Xsave needs 4096 bytes", e.Message);
    }

    [Fact]
    public void Every_altered_byte_is_refused()
    {
        byte[] image = SampleVcpu().Serialize();
        for (int i = 0; i < image.Length; i++)
        {
            byte[] altered = (byte[])image.Clone();
            altered[i] ^= 0x5A;
            Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(altered));
        }
    }

    [Fact]
    public void An_altered_payload_byte_fails_the_checksum()
    {
        byte[] image = SampleVmImageWithByteFlipped(100);
        var e = Assert.Throws<KvmStateFormatException>(() => VmState.Deserialize(image));
        Assert.Equal("VM state fails its checksum: the image was altered or damaged", e.Message);
    }

    [Fact]
    public void Random_bytes_are_refused_as_a_format_error()
    {
        var random = new Random(16);
        byte[] header = SampleVcpu().Serialize()[..8];
        for (int i = 0; i < 2000; i++)
        {
            byte[] junk = new byte[random.Next(0, 9000)];
            random.NextBytes(junk);
            if (i % 2 == 0 && junk.Length >= 8) header.CopyTo(junk, 0); // past the magic and version checks
            Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(junk));
            Assert.Throws<KvmStateFormatException>(() => VmState.Deserialize(junk));
        }
    }

    [Fact]
    public void An_image_of_another_format_version_is_refused_naming_both_versions()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), version: 2, c => c);
        var e = Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image));
        Assert.Equal("vCPU state has format version 2, this csvmm reads version 1", e.Message);
    }

    [Fact]
    public void A_vm_image_is_not_taken_for_a_vcpu_image()
    {
        var e = Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(SampleVm().Serialize()));
        Assert.Contains("magic number", e.Message);
    }

    [Fact]
    public void An_unknown_component_is_refused()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), 1, c => [.. c, ((ushort)99, new byte[4])]);
        Assert.Contains("unknown component tag 99", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image)).Message);
    }

    [Fact]
    public void A_component_given_twice_is_refused()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), 1, c => [.. c, c.First(x => x.Tag == RegsTag)]);
        Assert.Equal("vCPU state has component Regs twice", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image)).Message);
    }

    [Fact]
    public void A_missing_component_is_refused()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), 1, c => c.Where(x => x.Tag != MsrsTag).ToList());
        Assert.Equal("vCPU state lacks its Msrs component", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image)).Message);
    }

    [Fact]
    public void A_component_of_the_wrong_size_is_refused()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), 1, c => c.Select(x => x.Tag == RegsTag ? (x.Tag, x.Payload[..100]) : x).ToList());
        Assert.Equal($"vCPU state has a Regs component of 100 bytes, expected {sizeof(KvmRegs)}",
            Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image)).Message);
        image = Rebuild(SampleVcpu().Serialize(), 1, c => c.Select(x => x.Tag == MsrsTag ? (x.Tag, x.Payload[..20]) : x).ToList());
        Assert.Contains("not a multiple of 16", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image)).Message);
    }

    [Fact]
    public void Xsave_and_fpu_together_or_neither_are_refused()
    {
        byte[] fpu = new byte[sizeof(KvmFpu)];
        byte[] both = Rebuild(SampleVcpu().Serialize(), 1, c => [.. c, (FpuTag, fpu)]);
        Assert.Contains("both an XSAVE image and FPU state", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(both)).Message);
        byte[] neither = Rebuild(SampleVcpu().Serialize(), 1, c => c.Where(x => x.Tag != XsaveTag).ToList());
        Assert.Contains("neither", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(neither)).Message);
        byte[] small = Rebuild(SampleVcpu().Serialize(), 1, c => c.Select(x => x.Tag == XsaveTag ? (x.Tag, x.Payload[..512]) : x).ToList());
        Assert.Contains("XSAVE image of 512 bytes", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(small)).Message);
    }

    [Fact]
    public void A_negative_vcpu_id_is_refused()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), 1, c => c.Select(x => x.Tag == VcpuIdTag ? (x.Tag, BitConverter.GetBytes(-1)) : x).ToList());
        Assert.Contains("negative vCPU id", Assert.Throws<KvmStateFormatException>(() => VcpuState.Deserialize(image)).Message);
    }

    [Fact]
    public void An_optional_component_may_be_absent()
    {
        byte[] image = Rebuild(SampleVcpu().Serialize(), 1, c => c.Where(x => x.Tag != TscKhzTag).ToList());
        Assert.Null(VcpuState.Deserialize(image).TscKhz);
    }

    [Fact]
    public void An_irqchip_under_the_wrong_chip_id_is_refused()
    {
        var vm = SampleVm();
        byte[] image = Rebuild(vm.Serialize(), 1, c => c.Select(x => x.Tag == PicSlaveTag ? (x.Tag, Bytes(vm.PicMaster)) : x).ToList());
        Assert.Equal("VM state has chip id 0 in its PicSlave component, expected 1",
            Assert.Throws<KvmStateFormatException>(() => VmState.Deserialize(image)).Message);
    }

    [Fact]
    public void The_tsc_deadline_is_written_after_the_tsc_and_a_zero_deadline_becomes_the_tsc_value()
    {
        var state = SampleVcpu() with
        {
            Msrs = [new KvmMsrEntry { Index = 0x6E0, Data = 0 }, new KvmMsrEntry { Index = 0x174, Data = 8 }, new KvmMsrEntry { Index = 0x10, Data = 777 }],
        };
        var written = state.MsrsToWrite();
        Assert.Equal([0x174u, 0x10u, 0x6E0u], written.Select(m => m.Index));
        Assert.Equal(777UL, written[2].Data);
        var armed = state with { Msrs = [new KvmMsrEntry { Index = 0x6E0, Data = 5000 }, new KvmMsrEntry { Index = 0x10, Data = 777 }] };
        Assert.Equal(5000UL, armed.MsrsToWrite()[1].Data);
    }

    [Fact]
    public void Crc32c_matches_the_standard_check_value() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));

    private static byte[] SampleVmImageWithByteFlipped(int offset)
    {
        byte[] image = SampleVm().Serialize();
        image[offset] ^= 1;
        return image;
    }

    private static byte[] Bytes<T>(T value) where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>The image's components, changed by <paramref name="change"/>, in a new image with a valid checksum.</summary>
    private static byte[] Rebuild(byte[] image, ushort version, Func<List<(ushort Tag, byte[] Payload)>, List<(ushort Tag, byte[] Payload)>> change)
    {
        var components = new List<(ushort Tag, byte[] Payload)>();
        int count = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(6));
        int offset = 8;
        for (int i = 0; i < count; i++)
        {
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(offset));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(offset + 4));
            components.Add((tag, image.AsSpan(offset + 8, length).ToArray()));
            offset += 8 + length;
        }
        var writer = new StateImageWriter(BinaryPrimitives.ReadUInt32LittleEndian(image), version);
        foreach (var (tag, payload) in change(components)) writer.Add(tag, payload);
        return writer.ToArray();
    }
}
