/* Prints the ABI facts csvmm's Kvm.Interop hard-codes, straight from the host's UAPI headers.
 * Compiled and run by AbiTests; one "name value" pair per line. */
#include <stdio.h>
#include <stddef.h>
#include <linux/kvm.h>

#define SZ(t) printf("sizeof_%s %zu\n", #t, sizeof(struct t))
#define OFF(t, f) printf("offsetof_%s_%s %zu\n", #t, #f, offsetof(struct t, f))
#define NR(n) printf("%s %lu\n", #n, (unsigned long)(n))

int main(void)
{
    NR(KVM_GET_API_VERSION); NR(KVM_CREATE_VM); NR(KVM_CHECK_EXTENSION); NR(KVM_GET_VCPU_MMAP_SIZE);
    NR(KVM_GET_SUPPORTED_CPUID); NR(KVM_CREATE_VCPU); NR(KVM_SET_USER_MEMORY_REGION); NR(KVM_SET_TSS_ADDR);
    NR(KVM_SET_IDENTITY_MAP_ADDR); NR(KVM_CREATE_IRQCHIP); NR(KVM_IRQ_LINE); NR(KVM_IRQFD); NR(KVM_CREATE_PIT2);
    NR(KVM_IOEVENTFD); NR(KVM_RUN); NR(KVM_GET_REGS); NR(KVM_SET_REGS); NR(KVM_GET_SREGS); NR(KVM_SET_SREGS);
    NR(KVM_GET_MSRS); NR(KVM_SET_MSRS); NR(KVM_GET_FPU); NR(KVM_SET_FPU); NR(KVM_GET_LAPIC); NR(KVM_SET_LAPIC);
    NR(KVM_SET_CPUID2); NR(KVM_GET_MP_STATE); NR(KVM_SET_MP_STATE); NR(KVM_SET_GSI_ROUTING);
    /* snapshot state */
    NR(KVM_GET_MSR_INDEX_LIST); NR(KVM_GET_IRQCHIP); NR(KVM_SET_IRQCHIP); NR(KVM_SET_CLOCK); NR(KVM_GET_CLOCK);
    NR(KVM_GET_PIT2); NR(KVM_SET_PIT2); NR(KVM_GET_CPUID2); NR(KVM_GET_VCPU_EVENTS); NR(KVM_SET_VCPU_EVENTS);
    NR(KVM_GET_DEBUGREGS); NR(KVM_SET_DEBUGREGS); NR(KVM_SET_TSC_KHZ); NR(KVM_GET_TSC_KHZ); NR(KVM_GET_XSAVE);
    NR(KVM_SET_XSAVE); NR(KVM_GET_XCRS); NR(KVM_SET_XCRS); NR(KVM_KVMCLOCK_CTRL); NR(KVM_GET_XSAVE2);
    NR(KVM_CAP_ADJUST_CLOCK); NR(KVM_CAP_VCPU_EVENTS); NR(KVM_CAP_DEBUGREGS); NR(KVM_CAP_XSAVE); NR(KVM_CAP_XCRS);
    NR(KVM_CAP_TSC_CONTROL); NR(KVM_CAP_GET_TSC_KHZ); NR(KVM_CAP_KVMCLOCK_CTRL); NR(KVM_CAP_GET_MSR_FEATURES);
    NR(KVM_CAP_XSAVE2); NR(KVM_IRQCHIP_PIC_MASTER); NR(KVM_IRQCHIP_PIC_SLAVE); NR(KVM_IRQCHIP_IOAPIC);
    NR(KVM_VCPUEVENT_VALID_NMI_PENDING); NR(KVM_VCPUEVENT_VALID_SIPI_VECTOR); NR(KVM_VCPUEVENT_VALID_SHADOW);
    NR(KVM_VCPUEVENT_VALID_SMM); NR(KVM_VCPUEVENT_VALID_PAYLOAD); NR(KVM_VCPUEVENT_VALID_TRIPLE_FAULT);
    NR(KVM_CLOCK_TSC_STABLE); NR(KVM_CLOCK_REALTIME); NR(KVM_CLOCK_HOST_TSC); NR(KVM_MAX_XCRS);

    SZ(kvm_userspace_memory_region); SZ(kvm_regs); SZ(kvm_segment); SZ(kvm_dtable); SZ(kvm_sregs);
    SZ(kvm_fpu); SZ(kvm_msr_entry); SZ(kvm_msrs); SZ(kvm_cpuid_entry2); SZ(kvm_cpuid2); SZ(kvm_pit_config);
    SZ(kvm_irq_level); SZ(kvm_irqfd); SZ(kvm_ioeventfd); SZ(kvm_mp_state); SZ(kvm_lapic_state);
    SZ(kvm_irq_routing); SZ(kvm_irq_routing_entry);
    SZ(kvm_xsave); SZ(kvm_xcr); SZ(kvm_xcrs); SZ(kvm_debugregs); SZ(kvm_vcpu_events); SZ(kvm_irqchip);
    SZ(kvm_pit_channel_state); SZ(kvm_pit_state2); SZ(kvm_clock_data); SZ(kvm_msr_list);
    SZ(kvm_pic_state); SZ(kvm_ioapic_state);

    OFF(kvm_userspace_memory_region, guest_phys_addr); OFF(kvm_userspace_memory_region, userspace_addr);
    OFF(kvm_regs, rip); OFF(kvm_regs, rflags); OFF(kvm_regs, r8);
    OFF(kvm_segment, selector); OFF(kvm_segment, type); OFF(kvm_segment, unusable);
    OFF(kvm_sregs, tr); OFF(kvm_sregs, gdt); OFF(kvm_sregs, cr0); OFF(kvm_sregs, efer); OFF(kvm_sregs, apic_base);
    OFF(kvm_sregs, interrupt_bitmap);
    OFF(kvm_fpu, fcw); OFF(kvm_fpu, last_ip); OFF(kvm_fpu, xmm); OFF(kvm_fpu, mxcsr);
    OFF(kvm_cpuid_entry2, eax); OFF(kvm_cpuid_entry2, edx);
    OFF(kvm_irqfd, resamplefd); OFF(kvm_ioeventfd, len); OFF(kvm_ioeventfd, fd); OFF(kvm_ioeventfd, flags);

    OFF(kvm_run, immediate_exit); OFF(kvm_run, exit_reason); OFF(kvm_run, io.direction); OFF(kvm_run, io.size);
    OFF(kvm_run, io.port); OFF(kvm_run, io.count); OFF(kvm_run, io.data_offset);
    OFF(kvm_run, mmio.phys_addr); OFF(kvm_run, mmio.data); OFF(kvm_run, mmio.len); OFF(kvm_run, mmio.is_write);
    OFF(kvm_run, internal.suberror); OFF(kvm_run, internal.ndata); OFF(kvm_run, internal.data);
    OFF(kvm_run, emulation_failure.flags); OFF(kvm_run, emulation_failure.insn_size);
    OFF(kvm_run, emulation_failure.insn_bytes);
    OFF(kvm_irq_routing_entry, u.irqchip.pin); OFF(kvm_irq_routing_entry, u.msi.data); OFF(kvm_irq_routing, entries);
    OFF(kvm_run, system_event.type); OFF(kvm_run, fail_entry.hardware_entry_failure_reason);

    OFF(kvm_xcr, value); OFF(kvm_xcrs, xcrs); OFF(kvm_xcrs, padding);
    OFF(kvm_debugregs, dr6); OFF(kvm_debugregs, dr7); OFF(kvm_debugregs, flags); OFF(kvm_debugregs, reserved);
    OFF(kvm_vcpu_events, exception.error_code); OFF(kvm_vcpu_events, interrupt.injected);
    OFF(kvm_vcpu_events, interrupt.shadow); OFF(kvm_vcpu_events, nmi.injected); OFF(kvm_vcpu_events, nmi.masked);
    OFF(kvm_vcpu_events, sipi_vector); OFF(kvm_vcpu_events, flags); OFF(kvm_vcpu_events, smi.smm);
    OFF(kvm_vcpu_events, smi.latched_init); OFF(kvm_vcpu_events, triple_fault.pending);
    OFF(kvm_vcpu_events, exception_has_payload); OFF(kvm_vcpu_events, exception_payload);
    OFF(kvm_irqchip, chip); OFF(kvm_pic_state, imr); OFF(kvm_pic_state, irq_base); OFF(kvm_ioapic_state, redirtbl);
    OFF(kvm_pit_channel_state, latched_count); OFF(kvm_pit_channel_state, mode); OFF(kvm_pit_channel_state, gate);
    OFF(kvm_pit_channel_state, count_load_time); OFF(kvm_pit_state2, flags); OFF(kvm_pit_state2, reserved);
    OFF(kvm_clock_data, flags); OFF(kvm_clock_data, realtime); OFF(kvm_clock_data, host_tsc); OFF(kvm_clock_data, pad);
    OFF(kvm_msr_list, indices); OFF(kvm_cpuid2, entries); OFF(kvm_msrs, entries);
    return 0;
}
