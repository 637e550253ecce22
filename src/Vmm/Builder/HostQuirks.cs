namespace Csvmm.Vmm.Builder;

/// <summary>
/// What this host's KVM cannot do that a guest would otherwise rely on, found once and applied by
/// the builder. Today: KVM's PVM backend (nested KVM without VMX/SVM, module kvm_pvm), under which
/// a guest's hypercall never returns — a 2-vCPU Linux hung in its first PV IPI (kvm_hypercall4).
/// Hiding KVM's hypercall-based features (PV IPI, PV spinlock kick, PV yield; CPUID 0x40000001)
/// makes the guest use the emulated local APIC instead. On other hosts nothing changes.
/// </summary>
public sealed record HostQuirks(bool HypercallsHang)
{
    public static HostQuirks Detect() => new(HypercallsHang: Directory.Exists("/sys/module/kvm_pvm"));

    /// <summary>Whether the guest may be offered KVM's hypercall-based paravirtual features.</summary>
    public bool OfferPvHypercalls => !HypercallsHang;
}
