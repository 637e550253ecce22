using Csvmm.Host.Memory;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Csvmm.Kvm;
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
        string dir = Path.Combine(Path.GetTempPath(), $"csvmm-abi-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string src = Path.Combine(AppContext.BaseDirectory, "HeaderProbe.c");
        string exe = Path.Combine(dir, "probe");
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
    };

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
