namespace Csvmm.Vmm.Machine;

/// <summary>What a <see cref="VcpuThread"/> needs from the VM it belongs to.</summary>
public interface IVcpuHost
{
    /// <summary>Set once a stop was requested; vCPU loops end when they see it.</summary>
    bool Stopping { get; }

    /// <summary>Records why the VM stops (the first reason wins) and kicks every vCPU.</summary>
    void RequestStop(StopReason reason);

    /// <summary>vCPU 0 is about to enter KVM_RUN for the first time.</summary>
    void OnFirstRun();
}
