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

    /// <summary>The guest's RIP for messages, or null when it cannot be read.</summary>
    ulong? Rip();
}
