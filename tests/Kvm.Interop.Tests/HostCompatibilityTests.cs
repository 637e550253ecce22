using Csvmm.Kvm.State;
using Csvmm.Kvm.Tests.Support;
using Csvmm.Tests.Support;
using Xunit;

namespace Csvmm.Kvm.Tests;

/// <summary>
/// A state this host cannot take is refused before anything is written: KVM itself would accept
/// a foreign CPUID table and leave the guest to fault later.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class HostCompatibilityTests
{
    [KvmFact]
    public void A_state_captured_here_is_restorable_here()
    {
        using var kvm = KvmSystem.Open();
        using var machine = TimerGuestVm.Boot(kvm);
        machine.RunUntilReport();
        var state = VcpuState.Capture(machine.Vcpu);
        using var target = TimerGuestVm.FromMemory(kvm, machine.CopyMemory());
        state.CheckRestorable(target.Vcpu);
    }

    [KvmFact]
    public void A_state_from_another_cpu_vendor_is_refused_and_nothing_is_written()
    {
        using var kvm = KvmSystem.Open();
        var (state, target) = CaptureAndTarget(kvm);
        using var _ = target;
        var leaf0 = state.Cpuid.Single(e => e.Function == 0);
        bool intel = leaf0.Ebx == 0x756E6547; // "Genu"
        // "GenuineIntel" / "AuthenticAMD" as CPUID leaf 0 spells them in EBX, EDX, ECX.
        var other = intel
            ? leaf0 with { Ebx = 0x68747541, Edx = 0x69746E65, Ecx = 0x444D4163 }
            : leaf0 with { Ebx = 0x756E6547, Edx = 0x49656E69, Ecx = 0x6C65746E };
        var foreign = state with { Cpuid = [.. state.Cpuid.Select(e => e.Function == 0 ? other : e)] };
        ulong ripBefore = target.Vcpu.GetRegs().Rip;

        var e = Assert.Throws<KvmStateMismatchException>(() => foreign.Restore(target.Vcpu));
        Assert.Equal($"the vCPU state cannot be restored on this host: it was captured on a {(intel ? "AuthenticAMD" : "GenuineIntel")} CPU and this host has a {(intel ? "GenuineIntel" : "AuthenticAMD")} CPU", e.Message);
        Assert.Equal(ripBefore, target.Vcpu.GetRegs().Rip);
    }

    [KvmFact]
    public void A_cpu_feature_this_host_does_not_offer_is_refused()
    {
        using var kvm = KvmSystem.Open();
        var (state, target) = CaptureAndTarget(kvm);
        using var _ = target;
        // The lowest bit neither KVM_GET_SUPPORTED_CPUID nor the vCPU's own table (KVM's PVM
        // backend fills in the host CPU's features) has.
        uint offered = kvm.GetSupportedCpuid().First(e => e.Function == 7 && e.Index == 0).Ebx
            | state.Cpuid.First(e => e.Function == 7 && e.Index == 0).Ebx;
        uint absent = ~offered & (uint)-(int)~offered;
        Assert.NotEqual(0u, absent);
        var foreign = state with { Cpuid = [.. state.Cpuid.Select(e => e.Function == 7 && e.Index == 0 ? e with { Ebx = e.Ebx | absent } : e)] };
        var e = Assert.Throws<KvmStateMismatchException>(() => foreign.CheckRestorable(target.Vcpu));
        Assert.Contains($"CPUID leaf 0x7.0 EBX bits 0x{absent:x}", e.Message);
    }

    [KvmFact]
    public void An_msr_this_host_does_not_save_is_refused()
    {
        using var kvm = KvmSystem.Open();
        var (state, target) = CaptureAndTarget(kvm);
        using var _ = target;
        const uint unlisted = 0x4B564DFF; // in KVM's paravirtual MSR range, never defined
        Assert.DoesNotContain(unlisted, kvm.MsrIndexList);
        var foreign = state with { Msrs = [.. state.Msrs, new KvmMsrEntry { Index = unlisted }] };
        var e = Assert.Throws<KvmStateMismatchException>(() => foreign.CheckRestorable(target.Vcpu));
        Assert.Contains("MSR 0x4b564dff", e.Message);
    }

    [KvmFact]
    public void A_slower_tsc_is_refused_where_kvm_cannot_scale_it()
    {
        using var kvm = KvmSystem.Open();
        var (state, target) = CaptureAndTarget(kvm);
        using var _ = target;
        var slower = state with { TscKhz = state.TscKhz!.Value / 2 };
        if (target.Vm.CheckExtension(KvmCap.TscControl) > 0)
            slower.CheckRestorable(target.Vcpu); // TSC scaling in hardware takes any sane rate
        else
            Assert.Contains("cannot scale the TSC", Assert.Throws<KvmStateMismatchException>(() => slower.CheckRestorable(target.Vcpu)).Message);
    }

    private static (VcpuState State, TimerGuestVm Target) CaptureAndTarget(KvmSystem kvm)
    {
        using var machine = TimerGuestVm.Boot(kvm);
        machine.RunUntilReport();
        var state = VcpuState.Capture(machine.Vcpu);
        return (state, TimerGuestVm.FromMemory(kvm, machine.CopyMemory()));
    }
}
