using Csvmm.Kvm;

namespace Csvmm.Vmm.Machine;

/// <summary>A KVM vCPU behind <see cref="IVcpu"/>: KVM_RUN and the kvm_run page turned into <see cref="VcpuExit"/>s.</summary>
public sealed class KvmVcpuRunner(KvmVcpu vcpu) : IVcpu
{
    public KvmVcpu Vcpu => vcpu;

    public int Id => vcpu.Id;

    public VcpuExit Run()
    {
        if (!vcpu.RunOnce()) return VcpuExit.Interruption;
        var run = vcpu.Run;
        var reason = run.ExitReason;
        return reason switch
        {
            KvmExitReason.Io => new VcpuExit
            {
                Reason = reason, IoPort = run.IoPort, IoIsOut = run.IoIsOut, IoSize = run.IoSize, IoData = run.IoData,
            },
            KvmExitReason.Mmio => new VcpuExit
            {
                Reason = reason, MmioAddress = run.MmioPhysAddr, MmioIsWrite = run.MmioIsWrite, MmioData = run.MmioData,
            },
            KvmExitReason.SystemEvent => new VcpuExit { Reason = reason, SystemEventType = run.SystemEventType },
            KvmExitReason.FailEntry => new VcpuExit { Reason = reason, HardwareReason = run.FailEntryReason },
            KvmExitReason.InternalError => new VcpuExit
            {
                Reason = reason, InternalSuberror = run.InternalSuberror, InternalData = run.InternalData,
                InstructionBytes = run.EmulationInstructionBytes,
            },
            _ => new VcpuExit { Reason = reason, HardwareReason = run.HardwareExitReason },
        };
    }

    public void SetImmediateExit(bool value) => vcpu.Run.ImmediateExit = value;

    // false (EINVAL) when the guest has not registered kvmclock: nothing to tell it then.
    public void NotifyGuestPaused() => vcpu.KvmclockCtrl();

    public ulong? Rip()
    {
        try { return vcpu.GetRegs().Rip; }
        catch (KvmException) { return null; }
    }

    public void Dispose() => vcpu.Dispose();
}
