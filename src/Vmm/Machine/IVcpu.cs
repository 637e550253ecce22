namespace Csvmm.Vmm.Machine;

/// <summary>
/// One vCPU as the run loop sees it: run until the next exit, and be made to leave KVM_RUN. KVM's
/// implementation is <see cref="KvmVcpuRunner"/>; tests drive <see cref="VcpuThread"/> with fakes.
/// </summary>
public interface IVcpu : IDisposable
{
    int Id { get; }

    /// <summary>One KVM_RUN. An interrupted run (a kick) returns <see cref="VcpuExit.Interruption"/>.</summary>
    VcpuExit Run();

    /// <summary>kvm_run.immediate_exit: while set, KVM_RUN returns at once (Documentation/virt/kvm/api.rst).</summary>
    void SetImmediateExit(bool value);

    /// <summary>
    /// Before a paused vCPU runs again: tell the guest it was stopped (KVM_KVMCLOCK_CTRL), so its
    /// RCU-stall and soft-lockup checks do not count the pause as a hang (kernel/rcu/tree_stall.h
    /// and kernel/watchdog.c call kvm_check_and_clear_guest_paused()).
    /// </summary>
    void NotifyGuestPaused();

    /// <summary>The guest's RIP for messages, or null when it cannot be read.</summary>
    ulong? Rip();
}
