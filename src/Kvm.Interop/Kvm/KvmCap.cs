namespace Csvmm.Kvm;

/// <summary>KVM_CHECK_EXTENSION capability numbers.</summary>
public enum KvmCap : uint
{
    Irqchip = 0,
    UserMemory = 3,
    SetTssAddr = 4,
    ExtCpuid = 7,
    NrVcpus = 9,
    NrMemslots = 10,
    MpState = 14,
    IrqRouting = 25,
    Irqfd = 32,
    Pit2 = 33,
    Ioeventfd = 36,
    SetIdentityMapAddr = 37,
    InternalErrorData = 40,
    MaxVcpus = 66,
    TscDeadlineTimer = 72,
    ImmediateExit = 136,
}
