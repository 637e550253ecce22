using System.Runtime.InteropServices;
using Csvmm.Kvm.State;
using Csvmm.Kvm.Tests.Support;
using Csvmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Kvm.Tests;

/// <summary>
/// Capture and restore on real KVM: a guest that has run (timer interrupts through the in-kernel
/// PIT, PICs and LAPIC) is captured, and a second, fresh VM restored from the capture must go on
/// from the same instruction with the same counters and a ticking timer.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class SnapshotRestoreTests(ITestOutputHelper output)
{
    private const uint MsrSysenterEsp = 0x175, MsrLstar = 0xC0000082, MsrKernelGsBase = 0xC0000102;
    private const uint MsrKvmSystemTimeNew = 0x4B564D01;
    private const ulong SysenterEspMark = 0x5A5A_5000, LstarMark = 0xFFFF_FFFF_8123_4560, KernelGsBaseMark = 0x1234_5678_9000;
    private static readonly ulong[] DebugRegisterMarks = [0x11000, 0x22000, 0x33000, 0x44000];
    /// <summary>XMM7 in the FXSAVE/XSAVE legacy area (Intel SDM Vol. 1 Table 10-2: XMM0 at byte 160).</summary>
    private const int Xmm7Offset = 160 + 7 * 16;
    private static readonly byte[] Xmm7Mark = [.. Enumerable.Range(0xA0, 16).Select(i => (byte)i)];
    /// <summary>XSAVE header: XSTATE_BV at byte 512; bit 1 says the SSE state (XMM, MXCSR) is in the image.</summary>
    private const int XstateBvOffset = 512;
    private const byte XfeatureSse = 0x2;
    private const int TicksBeforeCapture = 5;

    /// <summary>What the first VM left: its memory and serialized states, and a few values to compare against.</summary>
    private sealed record Capture(byte[] Memory, byte[] VcpuImage, byte[] VmImage, VcpuState Vcpu, VmState Vm, uint LastReport, ulong Ticks);

    [KvmFact]
    public void A_guest_restored_into_a_fresh_vm_continues_from_the_instruction_where_it_stopped()
    {
        using var kvm = KvmSystem.Open();
        var captured = RunAndCapture(kvm);
        Assert.Equal(captured.LastReport, (uint)captured.Vcpu.Regs.R12);
        Assert.Equal(TimerGuest.CodeAddress + TimerGuest.AfterBusyReportOffset, captured.Vcpu.Regs.Rip);

        using var second = Restore(kvm, captured, fromImages: true);
        Assert.Equal(captured.Vcpu.Regs.Rip, second.Vcpu.GetRegs().Rip);

        // The loop goes on where it was: the next report is the captured one plus one period,
        // from R12 (registers) and from the counter in memory alike.
        uint next = second.RunUntilReport();
        Assert.Equal(captured.LastReport + TimerGuest.ReportEvery, next);
        Assert.Equal(next, second.Counter);

        // The timer keeps interrupting: PIT channel 0, the PICs' vector base and mask, LINT0 as
        // ExtINT and the IDT all came along (a fresh VM has none of them programmed).
        second.RunUntilTicks(captured.Ticks + 5);
        output.WriteLine($"captured at report {captured.LastReport}, tick {captured.Ticks}; restored guest reached report {second.Counter}, tick {second.Ticks}");
    }

    [KvmFact]
    public void A_guest_captured_while_halted_stays_halted_and_wakes_on_its_next_timer_tick()
    {
        using var kvm = KvmSystem.Open();
        VcpuState vcpuState;
        VmState vmState;
        byte[] memory;
        using (var first = TimerGuestVm.Boot(kvm, TimerGuest.HaltLoop))
        {
            first.RunUntilTicks(3);
            // An idle guest spends nearly all its time in HLT inside KVM_RUN; a kick that lands
            // while it runs its handler instead is retried.
            for (int attempt = 0; ; attempt++)
            {
                var run = BackgroundRun.Start(first);
                Thread.Sleep(20 + attempt * 7);
                run.Stop();
                if (first.Vcpu.GetMpState().MpState == KvmMpState.Halted || attempt == 20) break;
            }
            vcpuState = VcpuState.Capture(first.Vcpu);
            vmState = VmState.Capture(first.Vm);
            memory = first.CopyMemory();
        }
        Assert.Equal(KvmMpState.Halted, vcpuState.MpState.MpState);
        Assert.Equal(TimerGuest.CodeAddress + TimerGuest.AfterHaltOffset, vcpuState.Regs.Rip);
        ulong ticks = BitConverter.ToUInt64(memory, (int)TimerGuest.TicksAddress);

        using var second = TimerGuestVm.FromMemory(kvm, memory);
        vcpuState.Restore(second.Vcpu);
        vmState.Restore(second.Vm);
        Assert.Equal(KvmMpState.Halted, second.Vcpu.GetMpState().MpState);
        // Halted until the restored PIT's next tick wakes it: one tick, one report, R12 + 1.
        Assert.Equal((uint)vcpuState.Regs.R12 + 1, second.RunUntilReport());
        Assert.True(second.Ticks > ticks, $"woke without a timer tick ({second.Ticks} ticks, {ticks} at capture)");
        second.RunUntilTicks(ticks + 5);
    }

    [KvmFact]
    public void Without_the_vm_state_the_restored_guest_gets_no_timer_interrupts()
    {
        // The control for the test above: its tick check fails if VmState is not restored.
        using var kvm = KvmSystem.Open();
        var captured = RunAndCapture(kvm);
        using var second = Restore(kvm, captured, fromImages: false, withVmState: false);
        for (int i = 0; i < 40; i++) second.RunUntilReport();
        Assert.Equal(captured.Ticks, second.Ticks);
    }

    [KvmFact]
    public void Every_restored_component_reads_back_as_it_was_captured()
    {
        using var kvm = KvmSystem.Open();
        var captured = RunAndCapture(kvm);
        using var second = Restore(kvm, captured, fromImages: false);
        var vcpu = VcpuState.Capture(second.Vcpu);
        var vm = VmState.Capture(second.Vm);
        var was = captured.Vcpu;

        AssertSameBytes(was.Regs, vcpu.Regs, "KVM_GET_REGS");
        AssertSameBytes(was.Sregs, vcpu.Sregs, "KVM_GET_SREGS");
        Assert.Equal(was.MpState.MpState, vcpu.MpState.MpState);
        AssertSameBytes(was.DebugRegs, vcpu.DebugRegs, "KVM_GET_DEBUGREGS");
        Assert.Equal(DebugRegisterMarks, DebugRegisters(vcpu.DebugRegs));
        AssertSameBytes(was.Events, vcpu.Events, "KVM_GET_VCPU_EVENTS");
        Assert.Equal(MemoryMarshal.AsBytes(was.Cpuid.AsSpan()).ToArray(), MemoryMarshal.AsBytes(vcpu.Cpuid.AsSpan()).ToArray());
        if (was.Xsave is not null)
        {
            Assert.Equal(was.Xsave, vcpu.Xsave);
            Assert.Equal(Xmm7Mark, vcpu.Xsave![Xmm7Offset..(Xmm7Offset + 16)]);
        }
        if (was.Xcrs is KvmXcrs xcrs) AssertSameBytes(xcrs, vcpu.Xcrs!.Value, "KVM_GET_XCRS");
        AssertSameLapic(was.Lapic, vcpu.Lapic);

        Assert.Equal(was.Msrs.Select(m => m.Index), vcpu.Msrs.Select(m => m.Index));
        var differing = was.Msrs.Zip(vcpu.Msrs).Where(p => p.First.Data != p.Second.Data).Select(p => p.First.Index).ToList();
        output.WriteLine($"MSRs whose value moved between capture and read-back: {string.Join(", ", differing.Select(i => $"0x{i:x}"))}");
        Assert.All(differing, index => Assert.Equal(VcpuState.MsrIa32Tsc, index));
        // The guest TSC resumes at the captured value (plus the moments the restore took), not the host's.
        ulong tscThen = Msr(was, VcpuState.MsrIa32Tsc), tscNow = Msr(vcpu, VcpuState.MsrIa32Tsc);
        Assert.InRange(tscNow - tscThen, 0UL, (ulong)was.TscKhz.GetValueOrDefault(3_000_000) * 1000);
        Assert.Equal(LstarMark, Msr(vcpu, MsrLstar));
        Assert.Equal(KernelGsBaseMark, Msr(vcpu, MsrKernelGsBase));
        Assert.Equal(SysenterEspMark, Msr(vcpu, MsrSysenterEsp));

        AssertSameBytes(captured.Vm.PicMaster, vm.PicMaster, "KVM_GET_IRQCHIP (PIC master)");
        AssertSameBytes(captured.Vm.PicSlave, vm.PicSlave, "KVM_GET_IRQCHIP (PIC slave)");
        AssertSameBytes(captured.Vm.Ioapic, vm.Ioapic, "KVM_GET_IRQCHIP (IOAPIC)");
        Assert.Equal(0x20, vm.PicMaster.ChipByte(KvmIrqchip.PicIrqBaseOffset));
        Assert.Equal(0xFE, vm.PicMaster.ChipByte(KvmIrqchip.PicImrOffset));
        AssertSamePitChannel(captured.Vm.Pit.Channel0, vm.Pit.Channel0);
        Assert.Equal(2, vm.Pit.Channel0.Mode);
        Assert.Equal(11932u, vm.Pit.Channel0.Count);
        // kvmclock resumes at the captured value too (no time passes for the guest while saved).
        Assert.InRange(vm.Clock.Clock - captured.Vm.Clock.Clock, 0UL, 1_000_000_000UL);
    }

    [KvmFact]
    public void Kvmclock_ctrl_is_refused_without_a_guest_kvmclock_and_accepted_with_one()
    {
        using var kvm = KvmSystem.Open();
        using var machine = TimerGuestVm.Boot(kvm);
        machine.RunUntilReport();
        Assert.False(machine.Vcpu.KvmclockCtrl());
        // What a Linux guest's kvmclock driver does: MSR_KVM_SYSTEM_TIME_NEW = page address | enable.
        machine.Vcpu.SetMsrs([new KvmMsrEntry { Index = MsrKvmSystemTimeNew, Data = 0x6000 | 1 }]);
        machine.RunUntilReport();
        Assert.True(machine.Vcpu.KvmclockCtrl());
    }

    [KvmFact]
    public void Capture_completes_the_instruction_of_the_last_port_exit_and_leaves_immediate_exit_as_it_was()
    {
        using var kvm = KvmSystem.Open();
        using var machine = TimerGuestVm.Boot(kvm);
        machine.RunUntilReport();
        machine.Vcpu.Run.ImmediateExit = true;
        var state = VcpuState.Capture(machine.Vcpu);
        Assert.True(machine.Vcpu.Run.ImmediateExit);
        Assert.Equal(TimerGuest.CodeAddress + TimerGuest.AfterBusyReportOffset, state.Regs.Rip);
    }

    [KvmFact]
    public void Restoring_into_a_vcpu_with_another_id_is_refused()
    {
        using var kvm = KvmSystem.Open();
        using var machine = TimerGuestVm.Boot(kvm);
        using var other = machine.Vm.CreateVcpu(1);
        var state = VcpuState.Capture(machine.Vcpu);
        var e = Assert.Throws<ArgumentException>(() => state.Restore(other));
        Assert.Contains("vCPU 0 cannot be restored into vCPU 1", e.Message);
    }

    /// <summary>
    /// Not an assertion about csvmm but a record of this host: each state ioctl on a vCPU that has
    /// run, with the errno of any that fails, and the TSC rates KVM_SET_TSC_KHZ accepts.
    /// </summary>
    [KvmFact]
    public void Host_report_of_every_state_ioctl_on_a_vcpu_that_has_run()
    {
        using var kvm = KvmSystem.Open();
        using var machine = TimerGuestVm.Boot(kvm);
        machine.RunUntilTicks(TicksBeforeCapture);
        var vcpu = machine.Vcpu;
        var vm = machine.Vm;
        output.WriteLine($"caps: XSAVE {vm.CheckExtension(KvmCap.Xsave)}, XSAVE2 {vm.CheckExtension(KvmCap.Xsave2)}, XCRS {vm.CheckExtension(KvmCap.Xcrs)}, " +
            $"DEBUGREGS {vm.CheckExtension(KvmCap.Debugregs)}, VCPU_EVENTS {vm.CheckExtension(KvmCap.VcpuEvents)}, " +
            $"TSC_CONTROL {vm.CheckExtension(KvmCap.TscControl)}, GET_TSC_KHZ {vm.CheckExtension(KvmCap.GetTscKhz)}, " +
            $"KVMCLOCK_CTRL {vm.CheckExtension(KvmCap.KvmclockCtrl)}, ADJUST_CLOCK {vm.CheckExtension(KvmCap.AdjustClock)}, " +
            $"GET_MSR_FEATURES {vm.CheckExtension(KvmCap.GetMsrFeatures)}");
        output.WriteLine($"KVM_GET_MSR_INDEX_LIST: {kvm.MsrIndexList.Count} MSRs: {string.Join(" ", kvm.MsrIndexList.Select(m => $"{m:x}"))}");
        int failures = 0;
        void Try(string what, Action call)
        {
            try { call(); output.WriteLine($"{what}: ok"); }
            catch (KvmException e) { failures++; output.WriteLine($"{what}: errno {e.Errno} ({e.Message})"); }
        }
        Try("KVM_GET/SET_REGS", () => vcpu.SetRegs(vcpu.GetRegs()));
        Try("KVM_GET/SET_SREGS", () => vcpu.SetSregs(vcpu.GetSregs()));
        Try("KVM_GET/SET_FPU", () => vcpu.SetFpu(vcpu.GetFpu()));
        Try($"KVM_GET_XSAVE2/SET_XSAVE ({vcpu.XsaveSize} bytes)", () => vcpu.SetXsave(vcpu.GetXsave()));
        Try("KVM_GET/SET_XCRS", () => vcpu.SetXcrs(vcpu.GetXcrs()));
        Try("KVM_GET/SET_DEBUGREGS", () => vcpu.SetDebugRegs(vcpu.GetDebugRegs()));
        Try("KVM_GET/SET_LAPIC", () => vcpu.SetLapic(vcpu.GetLapic()));
        Try("KVM_GET/SET_MP_STATE", () => vcpu.SetMpState(vcpu.GetMpState()));
        Try("KVM_GET/SET_VCPU_EVENTS", () => vcpu.SetVcpuEvents(vcpu.GetVcpuEvents()));
        Try("KVM_GET_CPUID2/SET_CPUID2", () => output.WriteLine($"  {vcpu.GetCpuid().Length} CPUID entries"));
        Try("KVM_GET/SET_MSRS", () =>
        {
            var entries = kvm.MsrIndexList.Select(i => new KvmMsrEntry { Index = i }).ToArray();
            int read = vcpu.GetMsrs(entries);
            output.WriteLine($"  KVM_GET_MSRS read {read} of {entries.Length}");
            vcpu.SetMsrs(entries.AsSpan(0, read));
        });
        uint khz = 0;
        Try("KVM_GET_TSC_KHZ", () => output.WriteLine($"  {khz = vcpu.GetTscKhz()} kHz"));
        Try("KVM_SET_TSC_KHZ (same rate)", () => vcpu.SetTscKhz(khz));
        Try("KVM_SET_TSC_KHZ (rate + 1%)", () => { vcpu.SetTscKhz(khz + khz / 100); vcpu.SetTscKhz(khz); });
        Try("KVM_SET_TSC_KHZ (rate - 1%)", () => { vcpu.SetTscKhz(khz - khz / 100); vcpu.SetTscKhz(khz); });
        Try("KVM_KVMCLOCK_CTRL", () => output.WriteLine($"  accepted: {vcpu.KvmclockCtrl()}"));
        Try("KVM_GET/SET_PIT2", () => vm.SetPit2(vm.GetPit2()));
        Try("KVM_GET/SET_CLOCK", () => { var c = vm.GetClock(); output.WriteLine($"  flags 0x{c.Flags:x}"); c.Flags = 0; vm.SetClock(c); });
        foreach (var chip in new[] { KvmIrqchip.PicMaster, KvmIrqchip.PicSlave, KvmIrqchip.Ioapic })
            Try($"KVM_GET/SET_IRQCHIP {chip}", () => vm.SetIrqchip(vm.GetIrqchip(chip)));
        machine.RunUntilReport();
        output.WriteLine($"failures: {failures}");
    }

    /// <summary>Runs the guest in a first VM until the timer has ticked, captures it, and disposes that VM.</summary>
    private static Capture RunAndCapture(KvmSystem kvm)
    {
        using var first = TimerGuestVm.Boot(kvm);
        Mark(first.Vcpu);
        uint last = first.RunUntilTicks(TicksBeforeCapture);
        var vcpu = VcpuState.Capture(first.Vcpu);
        var vm = VmState.Capture(first.Vm);
        return new Capture(first.CopyMemory(), vcpu.Serialize(), vm.Serialize(), vcpu, vm, last, first.Ticks);
    }

    /// <summary>A fresh VM with the captured memory and state, restored from the serialized images or the captured objects.</summary>
    private static TimerGuestVm Restore(KvmSystem kvm, Capture captured, bool fromImages, bool withVmState = true)
    {
        var machine = TimerGuestVm.FromMemory(kvm, captured.Memory);
        (fromImages ? VcpuState.Deserialize(captured.VcpuImage) : captured.Vcpu).Restore(machine.Vcpu);
        if (withVmState) (fromImages ? VmState.Deserialize(captured.VmImage) : captured.Vm).Restore(machine.Vm);
        return machine;
    }

    /// <summary>Values the guest never touches, in state a fresh vCPU has at zero: debug registers, MSRs, XMM7.</summary>
    private static unsafe void Mark(KvmVcpu vcpu)
    {
        var debug = vcpu.GetDebugRegs();
        for (int i = 0; i < 4; i++) debug.Db[i] = DebugRegisterMarks[i];
        vcpu.SetDebugRegs(debug);
        vcpu.SetMsrs([
            new KvmMsrEntry { Index = MsrSysenterEsp, Data = SysenterEspMark },
            new KvmMsrEntry { Index = MsrLstar, Data = LstarMark },
            new KvmMsrEntry { Index = MsrKernelGsBase, Data = KernelGsBaseMark },
        ]);
        // Through XSAVE with the SSE bit in XSTATE_BV: KVM_SET_FPU writes the legacy area without
        // touching the XSAVE header, so on an XSAVE host the next XRSTOR resets XMM to its init state.
        var xsave = vcpu.GetXsave();
        Xmm7Mark.CopyTo(xsave.AsSpan(Xmm7Offset));
        xsave[XstateBvOffset] |= XfeatureSse;
        vcpu.SetXsave(xsave);
    }

    private static unsafe ulong[] DebugRegisters(KvmDebugRegs d) => [d.Db[0], d.Db[1], d.Db[2], d.Db[3]];

    private static ulong Msr(VcpuState state, uint index) => state.Msrs.Single(m => m.Index == index).Data;

    private static void AssertSameBytes<T>(T expected, T actual, string what) where T : unmanaged
    {
        var a = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in expected)).ToArray();
        var b = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in actual)).ToArray();
        Assert.True(a.AsSpan().SequenceEqual(b), $"{what} differs after restore: first difference at byte {a.AsSpan().CommonPrefixLength(b)}");
    }

    /// <summary>The LAPIC page but its timer's current count (0x390), which KVM computes at read time.</summary>
    private static void AssertSameLapic(KvmLapicState expected, KvmLapicState actual)
    {
        for (int offset = 0; offset < 1024; offset += 4)
            if (offset != 0x390)
                Assert.True(expected.GetRegister(offset) == actual.GetRegister(offset),
                    $"LAPIC register 0x{offset:x}: 0x{expected.GetRegister(offset):x} captured, 0x{actual.GetRegister(offset):x} after restore");
    }

    /// <summary>A PIT channel but its load time, which KVM rebases on the host clock at restore.</summary>
    private static void AssertSamePitChannel(KvmPitChannelState expected, KvmPitChannelState actual)
    {
        expected.CountLoadTime = actual.CountLoadTime = 0;
        AssertSameBytes(expected, actual, "KVM_GET_PIT2 channel 0");
    }
}
