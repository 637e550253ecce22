using Csvmm.Host.Memory;
using Csvmm.Kvm;
using Csvmm.Tests.Support;
using Xunit;

namespace Csvmm.Kvm.Tests;

public sealed class GuestMemoryTests
{
    [Fact]
    public void Ranges_inside_a_region_translate_and_others_do_not()
    {
        using var mem = GuestMemory.CreateAnonymous([(0, 0x10000), (0x100000, 0x10000)]);
        Assert.True(mem.IsValidRange(0, 0x10000));
        Assert.True(mem.IsValidRange(0x100000 + 0xFFFF, 1));
        Assert.False(mem.IsValidRange(0xFFFF, 2));                 // runs off the end of region 0
        Assert.False(mem.IsValidRange(0x10000, 1));                // the gap
        Assert.False(mem.IsValidRange(0x100000 - 1, 2));           // straddles into region 1
        Assert.False(mem.IsValidRange(ulong.MaxValue, 2));          // wraps
        Assert.False(mem.IsValidRange(0x100000, ulong.MaxValue));  // length overflow
    }

    [Fact]
    public void Reads_and_writes_outside_guest_memory_throw_instead_of_touching_the_host()
    {
        using var mem = GuestMemory.FromArray(new byte[4096], guestAddress: 0x1000);
        Assert.Throws<GuestMemoryException>(() => mem.Write(0x1FFC, 0UL));
        Assert.Throws<GuestMemoryException>(() => mem.Read<uint>(0xFFE));
        Assert.Throws<GuestMemoryException>(() => mem.GetSpan(0x1000, 4097));
        Assert.False(mem.TryGetSpan(0x1000, -1, out _));
    }

    [Fact]
    public void Values_round_trip_little_endian()
    {
        var backing = new byte[64];
        using var mem = GuestMemory.FromArray(backing);
        mem.Write(8, 0x1122334455667788UL);
        Assert.Equal(0x88, backing[8]);
        Assert.Equal(0x1122334455667788UL, mem.Read<ulong>(8));
        ref ushort r = ref mem.GetRef<ushort>(2);
        r = 0xBEEF;
        Assert.Equal(0xEF, backing[2]);
        Assert.Throws<GuestMemoryException>(() => mem.GetRef<uint>(2)); // misaligned
    }

    [Fact]
    public void Anonymous_memory_reads_as_zero() =>
        Assert.All(GuestMemory.CreateAnonymous([(0, 0x2000)]).GetSpan(0, 0x2000).ToArray(), b => Assert.Equal(0, b));

    [Fact]
    public void Unaligned_regions_are_refused() =>
        Assert.Throws<ArgumentException>(() => GuestMemory.CreateAnonymous([(0x10, 0x1000)]));
}

public sealed class KvmSmokeTests
{
    [Fact]
    public void Missing_device_reports_that_kvm_is_absent()
    {
        var e = Assert.Throws<KvmUnavailableException>(() => KvmSystem.Open("/nonexistent/kvm"));
        Assert.Contains("does not exist", e.Message);
    }

    [KvmFact]
    public void Kvm_api_12_with_the_needed_capabilities_creates_a_vm_and_a_vcpu()
    {
        using var kvm = KvmSystem.Open();
        kvm.RequireCapabilities(KvmCap.Irqchip, KvmCap.UserMemory, KvmCap.Ioeventfd, KvmCap.Irqfd, KvmCap.ImmediateExit);
        Assert.True(kvm.VcpuMmapSize >= 4096);
        Assert.Contains(kvm.GetSupportedCpuid(), e => e.Function == 0x40000000);
        using var vm = kvm.CreateVm();
        vm.CreateIrqchip();
        using var vcpu = vm.CreateVcpu(0);
        Assert.Equal(KvmMpState.Runnable, vcpu.GetMpState().MpState);
        var sregs = vcpu.GetSregs();
        Assert.Equal(0xFFFF0000UL, sregs.Cs.Base);
    }

    [KvmFact]
    public void Failed_ioctl_names_the_ioctl_and_errno()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        vm.CreateIrqchip();
        var e = Assert.Throws<KvmException>(() => vm.CreateIrqchip()); // a second irqchip is refused
        Assert.Equal("KVM_CREATE_IRQCHIP", e.Ioctl);
        Assert.Contains("KVM_CREATE_IRQCHIP failed", e.Message);
    }
}
