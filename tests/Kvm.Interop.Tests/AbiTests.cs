using Csvmm.Host.Memory;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Csvmm.Kvm;
using Csvmm.Tests.Support;
using Xunit;

namespace Csvmm.Kvm.Tests;

/// <summary>
/// Compiles HeaderProbe.c against the host's &lt;linux/kvm.h&gt; and compares every ioctl number,
/// struct size and field offset with what Kvm.Interop computes, so the two cannot drift apart.
/// </summary>
public sealed unsafe class AbiTests
{
    private static readonly Lazy<Dictionary<string, ulong>> Probe = new(RunProbe);

    private static Dictionary<string, ulong> RunProbe()
    {
        using var dir = new ScratchDir("abi");
        string src = Path.Combine(AppContext.BaseDirectory, "HeaderProbe.c");
        string exe = dir.File("probe");
        Run("gcc", $"-O0 -o {exe} {src}");
        string output = Run(exe, "");
        var d = new Dictionary<string, ulong>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            d[parts[0]] = ulong.Parse(parts[1]);
        }
        return d;
    }

    private static string Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed: {stderr}");
        return stdout;
    }

    private static ulong C(string name) => Probe.Value.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException(name);

    public static TheoryData<string, uint> Ioctls => new()
    {
        { "KVM_GET_API_VERSION", KvmIoctl.GetApiVersion },
        { "KVM_CREATE_VM", KvmIoctl.CreateVm },
        { "KVM_CHECK_EXTENSION", KvmIoctl.CheckExtension },
        { "KVM_GET_VCPU_MMAP_SIZE", KvmIoctl.GetVcpuMmapSize },
        { "KVM_GET_SUPPORTED_CPUID", KvmIoctl.GetSupportedCpuid },
        { "KVM_CREATE_VCPU", KvmIoctl.CreateVcpu },
        { "KVM_SET_USER_MEMORY_REGION", KvmIoctl.SetUserMemoryRegion },
        { "KVM_SET_TSS_ADDR", KvmIoctl.SetTssAddr },
        { "KVM_SET_IDENTITY_MAP_ADDR", KvmIoctl.SetIdentityMapAddr },
        { "KVM_CREATE_IRQCHIP", KvmIoctl.CreateIrqchip },
        { "KVM_IRQ_LINE", KvmIoctl.IrqLine },
        { "KVM_IRQFD", KvmIoctl.Irqfd },
        { "KVM_CREATE_PIT2", KvmIoctl.CreatePit2 },
        { "KVM_IOEVENTFD", KvmIoctl.Ioeventfd },
        { "KVM_RUN", KvmIoctl.Run },
        { "KVM_GET_REGS", KvmIoctl.GetRegs },
        { "KVM_SET_REGS", KvmIoctl.SetRegs },
        { "KVM_GET_SREGS", KvmIoctl.GetSregs },
        { "KVM_SET_SREGS", KvmIoctl.SetSregs },
        { "KVM_GET_MSRS", KvmIoctl.GetMsrs },
        { "KVM_SET_MSRS", KvmIoctl.SetMsrs },
        { "KVM_GET_FPU", KvmIoctl.GetFpu },
        { "KVM_SET_FPU", KvmIoctl.SetFpu },
        { "KVM_GET_LAPIC", KvmIoctl.GetLapic },
        { "KVM_SET_LAPIC", KvmIoctl.SetLapic },
        { "KVM_SET_CPUID2", KvmIoctl.SetCpuid2 },
        { "KVM_GET_MP_STATE", KvmIoctl.GetMpState },
        { "KVM_SET_MP_STATE", KvmIoctl.SetMpState },
        { "KVM_SET_GSI_ROUTING", KvmIoctl.SetGsiRouting },
        { "KVM_GET_MSR_INDEX_LIST", KvmIoctl.GetMsrIndexList },
        { "KVM_GET_IRQCHIP", KvmIoctl.GetIrqchip },
        { "KVM_SET_IRQCHIP", KvmIoctl.SetIrqchip },
        { "KVM_SET_CLOCK", KvmIoctl.SetClock },
        { "KVM_GET_CLOCK", KvmIoctl.GetClock },
        { "KVM_GET_PIT2", KvmIoctl.GetPit2 },
        { "KVM_SET_PIT2", KvmIoctl.SetPit2 },
        { "KVM_GET_CPUID2", KvmIoctl.GetCpuid2 },
        { "KVM_GET_VCPU_EVENTS", KvmIoctl.GetVcpuEvents },
        { "KVM_SET_VCPU_EVENTS", KvmIoctl.SetVcpuEvents },
        { "KVM_GET_DEBUGREGS", KvmIoctl.GetDebugRegs },
        { "KVM_SET_DEBUGREGS", KvmIoctl.SetDebugRegs },
        { "KVM_SET_TSC_KHZ", KvmIoctl.SetTscKhz },
        { "KVM_GET_TSC_KHZ", KvmIoctl.GetTscKhz },
        { "KVM_GET_XSAVE", KvmIoctl.GetXsave },
        { "KVM_SET_XSAVE", KvmIoctl.SetXsave },
        { "KVM_GET_XCRS", KvmIoctl.GetXcrs },
        { "KVM_SET_XCRS", KvmIoctl.SetXcrs },
        { "KVM_KVMCLOCK_CTRL", KvmIoctl.KvmclockCtrl },
        { "KVM_GET_XSAVE2", KvmIoctl.GetXsave2 },
    };

    public static TheoryData<string, ulong> Constants => new()
    {
        { "KVM_CAP_ADJUST_CLOCK", (ulong)KvmCap.AdjustClock },
        { "KVM_CAP_VCPU_EVENTS", (ulong)KvmCap.VcpuEvents },
        { "KVM_CAP_DEBUGREGS", (ulong)KvmCap.Debugregs },
        { "KVM_CAP_XSAVE", (ulong)KvmCap.Xsave },
        { "KVM_CAP_XCRS", (ulong)KvmCap.Xcrs },
        { "KVM_CAP_TSC_CONTROL", (ulong)KvmCap.TscControl },
        { "KVM_CAP_GET_TSC_KHZ", (ulong)KvmCap.GetTscKhz },
        { "KVM_CAP_KVMCLOCK_CTRL", (ulong)KvmCap.KvmclockCtrl },
        { "KVM_CAP_GET_MSR_FEATURES", (ulong)KvmCap.GetMsrFeatures },
        { "KVM_CAP_XSAVE2", (ulong)KvmCap.Xsave2 },
        { "KVM_IRQCHIP_PIC_MASTER", KvmIrqchip.PicMaster },
        { "KVM_IRQCHIP_PIC_SLAVE", KvmIrqchip.PicSlave },
        { "KVM_IRQCHIP_IOAPIC", KvmIrqchip.Ioapic },
        { "KVM_VCPUEVENT_VALID_NMI_PENDING", KvmVcpuEvents.ValidNmiPending },
        { "KVM_VCPUEVENT_VALID_SIPI_VECTOR", KvmVcpuEvents.ValidSipiVector },
        { "KVM_VCPUEVENT_VALID_SHADOW", KvmVcpuEvents.ValidShadow },
        { "KVM_VCPUEVENT_VALID_SMM", KvmVcpuEvents.ValidSmm },
        { "KVM_VCPUEVENT_VALID_PAYLOAD", KvmVcpuEvents.ValidPayload },
        { "KVM_VCPUEVENT_VALID_TRIPLE_FAULT", KvmVcpuEvents.ValidTripleFault },
        { "KVM_CLOCK_TSC_STABLE", KvmClockData.FlagTscStable },
        { "KVM_CLOCK_REALTIME", KvmClockData.FlagRealtime },
        { "KVM_CLOCK_HOST_TSC", KvmClockData.FlagHostTsc },
        { "KVM_MAX_XCRS", KvmXcrs.MaxXcrs },
        { "sizeof_kvm_pic_state", 16 }, // fits the 512-byte union KvmIrqchip carries as bytes
        { "offsetof_kvm_pic_state_imr", KvmIrqchip.PicImrOffset },
        { "offsetof_kvm_pic_state_irq_base", KvmIrqchip.PicIrqBaseOffset },
        { "offsetof_kvm_ioapic_state_redirtbl", KvmIrqchip.IoapicRedirectionTableOffset },
    };

    [Theory]
    [MemberData(nameof(Constants))]
    public void Constant_matches_the_kernel_header(string name, ulong value) =>
        Assert.Equal(C(name), value);

    [Theory]
    [MemberData(nameof(Ioctls))]
    public void Ioctl_number_matches_the_kernel_header(string name, uint value) =>
        Assert.Equal(C(name), (ulong)value);

    [Fact]
    public void Struct_sizes_match_the_kernel_headers()
    {
        Assert.Equal(C("sizeof_kvm_userspace_memory_region"), (ulong)sizeof(KvmUserspaceMemoryRegion));
        Assert.Equal(C("sizeof_kvm_regs"), (ulong)sizeof(KvmRegs));
        Assert.Equal(C("sizeof_kvm_segment"), (ulong)sizeof(KvmSegment));
        Assert.Equal(C("sizeof_kvm_dtable"), (ulong)sizeof(KvmDtable));
        Assert.Equal(C("sizeof_kvm_sregs"), (ulong)sizeof(KvmSregs));
        Assert.Equal(C("sizeof_kvm_fpu"), (ulong)sizeof(KvmFpu));
        Assert.Equal(C("sizeof_kvm_msr_entry"), (ulong)sizeof(KvmMsrEntry));
        Assert.Equal(C("sizeof_kvm_msrs"), (ulong)sizeof(KvmMsrsHeader));
        Assert.Equal(C("sizeof_kvm_cpuid_entry2"), (ulong)sizeof(KvmCpuidEntry2));
        Assert.Equal(C("sizeof_kvm_cpuid2"), (ulong)sizeof(KvmCpuid2Header));
        Assert.Equal(C("sizeof_kvm_pit_config"), (ulong)sizeof(KvmPitConfig));
        Assert.Equal(C("sizeof_kvm_irq_level"), (ulong)sizeof(KvmIrqLevel));
        Assert.Equal(C("sizeof_kvm_irqfd"), (ulong)sizeof(KvmIrqfd));
        Assert.Equal(C("sizeof_kvm_ioeventfd"), (ulong)sizeof(KvmIoeventfd));
        Assert.Equal(C("sizeof_kvm_mp_state"), (ulong)sizeof(KvmMpState));
        Assert.Equal(C("sizeof_kvm_lapic_state"), (ulong)sizeof(KvmLapicState));
        Assert.Equal(C("sizeof_kvm_irq_routing"), (ulong)sizeof(KvmIrqRoutingHeader));
        Assert.Equal(C("sizeof_kvm_irq_routing_entry"), (ulong)sizeof(KvmIrqRoutingEntry));
        Assert.Equal(C("offsetof_kvm_irq_routing_entries"), (ulong)sizeof(KvmIrqRoutingHeader));
        Assert.Equal(C("offsetof_kvm_irq_routing_entry_u.irqchip.pin"), Off<KvmIrqRoutingEntry>(nameof(KvmIrqRoutingEntry.Pin)));
        Assert.Equal(C("offsetof_kvm_irq_routing_entry_u.msi.data"), Off<KvmIrqRoutingEntry>(nameof(KvmIrqRoutingEntry.MsiData)));
    }

    [Fact]
    public void Snapshot_state_struct_sizes_match_the_kernel_headers()
    {
        Assert.Equal(C("sizeof_kvm_xsave"), (ulong)sizeof(KvmXsave));
        Assert.Equal(C("sizeof_kvm_xcr"), (ulong)sizeof(KvmXcr));
        Assert.Equal(C("sizeof_kvm_xcrs"), (ulong)sizeof(KvmXcrs));
        Assert.Equal(C("sizeof_kvm_debugregs"), (ulong)sizeof(KvmDebugRegs));
        Assert.Equal(C("sizeof_kvm_vcpu_events"), (ulong)sizeof(KvmVcpuEvents));
        Assert.Equal(C("sizeof_kvm_irqchip"), (ulong)sizeof(KvmIrqchip));
        Assert.Equal(C("sizeof_kvm_pit_channel_state"), (ulong)sizeof(KvmPitChannelState));
        Assert.Equal(C("sizeof_kvm_pit_state2"), (ulong)sizeof(KvmPitState2));
        Assert.Equal(C("sizeof_kvm_clock_data"), (ulong)sizeof(KvmClockData));
        Assert.Equal(C("sizeof_kvm_msr_list"), (ulong)sizeof(KvmMsrListHeader));
        Assert.True(C("sizeof_kvm_ioapic_state") <= KvmIrqchip.ChipSize);
        // The flexible arrays start right after the headers csvmm declares.
        Assert.Equal(C("offsetof_kvm_msr_list_indices"), (ulong)sizeof(KvmMsrListHeader));
        Assert.Equal(C("offsetof_kvm_cpuid2_entries"), (ulong)sizeof(KvmCpuid2Header));
        Assert.Equal(C("offsetof_kvm_msrs_entries"), (ulong)sizeof(KvmMsrsHeader));
    }

    [Fact]
    public void Snapshot_state_field_offsets_match_the_kernel_headers()
    {
        Assert.Equal(C("offsetof_kvm_xcr_value"), Off<KvmXcr>(nameof(KvmXcr.Value)));
        Assert.Equal(C("offsetof_kvm_xcrs_xcrs"), Off<KvmXcrs>("_xcrs"));
        Assert.Equal(C("offsetof_kvm_xcrs_padding"), Off<KvmXcrs>("_padding"));
        Assert.Equal(C("offsetof_kvm_debugregs_dr6"), Off<KvmDebugRegs>(nameof(KvmDebugRegs.Dr6)));
        Assert.Equal(C("offsetof_kvm_debugregs_dr7"), Off<KvmDebugRegs>(nameof(KvmDebugRegs.Dr7)));
        Assert.Equal(C("offsetof_kvm_debugregs_flags"), Off<KvmDebugRegs>(nameof(KvmDebugRegs.Flags)));
        Assert.Equal(C("offsetof_kvm_debugregs_reserved"), Off<KvmDebugRegs>(nameof(KvmDebugRegs.Reserved)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_exception.error_code"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionErrorCode)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_interrupt.injected"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.InterruptInjected)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_interrupt.shadow"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.InterruptShadow)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_nmi.injected"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.NmiInjected)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_nmi.masked"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.NmiMasked)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_sipi_vector"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.SipiVector)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_flags"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.Flags)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_smi.smm"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.SmiSmm)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_smi.latched_init"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.SmiLatchedInit)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_triple_fault.pending"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.TripleFaultPending)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_exception_has_payload"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionHasPayload)));
        Assert.Equal(C("offsetof_kvm_vcpu_events_exception_payload"), Off<KvmVcpuEvents>(nameof(KvmVcpuEvents.ExceptionPayload)));
        Assert.Equal(C("offsetof_kvm_irqchip_chip"), Off<KvmIrqchip>(nameof(KvmIrqchip.Chip)));
        Assert.Equal(C("offsetof_kvm_pit_channel_state_latched_count"), Off<KvmPitChannelState>(nameof(KvmPitChannelState.LatchedCount)));
        Assert.Equal(C("offsetof_kvm_pit_channel_state_mode"), Off<KvmPitChannelState>(nameof(KvmPitChannelState.Mode)));
        Assert.Equal(C("offsetof_kvm_pit_channel_state_gate"), Off<KvmPitChannelState>(nameof(KvmPitChannelState.Gate)));
        Assert.Equal(C("offsetof_kvm_pit_channel_state_count_load_time"), Off<KvmPitChannelState>(nameof(KvmPitChannelState.CountLoadTime)));
        Assert.Equal(C("offsetof_kvm_pit_state2_flags"), Off<KvmPitState2>(nameof(KvmPitState2.Flags)));
        Assert.Equal(C("offsetof_kvm_pit_state2_reserved"), Off<KvmPitState2>(nameof(KvmPitState2.Reserved)));
        Assert.Equal(C("offsetof_kvm_clock_data_flags"), Off<KvmClockData>(nameof(KvmClockData.Flags)));
        Assert.Equal(C("offsetof_kvm_clock_data_realtime"), Off<KvmClockData>(nameof(KvmClockData.Realtime)));
        Assert.Equal(C("offsetof_kvm_clock_data_host_tsc"), Off<KvmClockData>(nameof(KvmClockData.HostTsc)));
        Assert.Equal(C("offsetof_kvm_clock_data_pad"), Off<KvmClockData>(nameof(KvmClockData.Pad)));
    }

    [Fact]
    public void Struct_field_offsets_match_the_kernel_headers()
    {
        Assert.Equal(C("offsetof_kvm_userspace_memory_region_guest_phys_addr"), Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.GuestPhysAddr)));
        Assert.Equal(C("offsetof_kvm_userspace_memory_region_userspace_addr"), Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.UserspaceAddr)));
        Assert.Equal(C("offsetof_kvm_regs_rip"), Off<KvmRegs>(nameof(KvmRegs.Rip)));
        Assert.Equal(C("offsetof_kvm_regs_rflags"), Off<KvmRegs>(nameof(KvmRegs.Rflags)));
        Assert.Equal(C("offsetof_kvm_regs_r8"), Off<KvmRegs>(nameof(KvmRegs.R8)));
        Assert.Equal(C("offsetof_kvm_segment_selector"), Off<KvmSegment>(nameof(KvmSegment.Selector)));
        Assert.Equal(C("offsetof_kvm_segment_type"), Off<KvmSegment>(nameof(KvmSegment.Type)));
        Assert.Equal(C("offsetof_kvm_segment_unusable"), Off<KvmSegment>(nameof(KvmSegment.Unusable)));
        Assert.Equal(C("offsetof_kvm_sregs_tr"), Off<KvmSregs>(nameof(KvmSregs.Tr)));
        Assert.Equal(C("offsetof_kvm_sregs_gdt"), Off<KvmSregs>(nameof(KvmSregs.Gdt)));
        Assert.Equal(C("offsetof_kvm_sregs_cr0"), Off<KvmSregs>(nameof(KvmSregs.Cr0)));
        Assert.Equal(C("offsetof_kvm_sregs_efer"), Off<KvmSregs>(nameof(KvmSregs.Efer)));
        Assert.Equal(C("offsetof_kvm_sregs_apic_base"), Off<KvmSregs>(nameof(KvmSregs.ApicBase)));
        Assert.Equal(C("offsetof_kvm_sregs_interrupt_bitmap"), Off<KvmSregs>(nameof(KvmSregs.InterruptBitmap)));
        Assert.Equal(C("offsetof_kvm_fpu_fcw"), Off<KvmFpu>(nameof(KvmFpu.Fcw)));
        Assert.Equal(C("offsetof_kvm_fpu_last_ip"), Off<KvmFpu>(nameof(KvmFpu.LastIp)));
        Assert.Equal(C("offsetof_kvm_fpu_xmm"), Off<KvmFpu>(nameof(KvmFpu.Xmm)));
        Assert.Equal(C("offsetof_kvm_fpu_mxcsr"), Off<KvmFpu>(nameof(KvmFpu.Mxcsr)));
        Assert.Equal(C("offsetof_kvm_cpuid_entry2_eax"), Off<KvmCpuidEntry2>(nameof(KvmCpuidEntry2.Eax)));
        Assert.Equal(C("offsetof_kvm_cpuid_entry2_edx"), Off<KvmCpuidEntry2>(nameof(KvmCpuidEntry2.Edx)));
        Assert.Equal(C("offsetof_kvm_irqfd_resamplefd"), Off<KvmIrqfd>(nameof(KvmIrqfd.ResampleFd)));
        Assert.Equal(C("offsetof_kvm_ioeventfd_len"), Off<KvmIoeventfd>(nameof(KvmIoeventfd.Len)));
        Assert.Equal(C("offsetof_kvm_ioeventfd_fd"), Off<KvmIoeventfd>(nameof(KvmIoeventfd.Fd)));
        Assert.Equal(C("offsetof_kvm_ioeventfd_flags"), Off<KvmIoeventfd>(nameof(KvmIoeventfd.Flags)));
    }

    [Fact]
    public void Kvm_run_offsets_match_the_kernel_header()
    {
        Assert.Equal(C("offsetof_kvm_run_immediate_exit"), (ulong)KvmRunPage.OffsetImmediateExit);
        Assert.Equal(C("offsetof_kvm_run_exit_reason"), (ulong)KvmRunPage.OffsetExitReason);
        Assert.Equal(C("offsetof_kvm_run_io.direction"), (ulong)KvmRunPage.OffsetIoDirection);
        Assert.Equal(C("offsetof_kvm_run_io.size"), (ulong)KvmRunPage.OffsetIoSize);
        Assert.Equal(C("offsetof_kvm_run_io.port"), (ulong)KvmRunPage.OffsetIoPort);
        Assert.Equal(C("offsetof_kvm_run_io.count"), (ulong)KvmRunPage.OffsetIoCount);
        Assert.Equal(C("offsetof_kvm_run_io.data_offset"), (ulong)KvmRunPage.OffsetIoDataOffset);
        Assert.Equal(C("offsetof_kvm_run_mmio.phys_addr"), (ulong)KvmRunPage.OffsetMmioPhysAddr);
        Assert.Equal(C("offsetof_kvm_run_mmio.data"), (ulong)KvmRunPage.OffsetMmioData);
        Assert.Equal(C("offsetof_kvm_run_mmio.len"), (ulong)KvmRunPage.OffsetMmioLen);
        Assert.Equal(C("offsetof_kvm_run_mmio.is_write"), (ulong)KvmRunPage.OffsetMmioIsWrite);
        Assert.Equal(C("offsetof_kvm_run_internal.suberror"), (ulong)KvmRunPage.OffsetInternalSuberror);
        Assert.Equal(C("offsetof_kvm_run_internal.ndata"), (ulong)KvmRunPage.OffsetInternalNdata);
        Assert.Equal(C("offsetof_kvm_run_internal.data"), (ulong)KvmRunPage.OffsetInternalData);
        Assert.Equal(C("offsetof_kvm_run_emulation_failure.flags"), (ulong)KvmRunPage.OffsetEmulationFlags);
        Assert.Equal(C("offsetof_kvm_run_emulation_failure.insn_size"), (ulong)KvmRunPage.OffsetEmulationInsnSize);
        Assert.Equal(C("offsetof_kvm_run_emulation_failure.insn_bytes"), (ulong)KvmRunPage.OffsetEmulationInsnBytes);
        Assert.Equal(C("offsetof_kvm_run_system_event.type"), (ulong)KvmRunPage.OffsetSystemEventType);
        Assert.Equal(C("offsetof_kvm_run_fail_entry.hardware_entry_failure_reason"), (ulong)KvmRunPage.OffsetFailEntryReason);
    }

    private static ulong Off<T>(string field) where T : unmanaged => (ulong)Marshal.OffsetOf<T>(field);

    [Fact]
    public void Ioc_encoding_puts_direction_size_type_and_number_in_their_fields() =>
        Assert.Equal(0xC008AE05u, IoctlNumber.Ioc(3, 0xAE, 0x05, 8));
}
