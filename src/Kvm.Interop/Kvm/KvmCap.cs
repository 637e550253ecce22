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
    AdjustClock = 39,
    InternalErrorData = 40,
    VcpuEvents = 41,
    Debugregs = 50,
    Xsave = 55,
    Xcrs = 56,
    TscControl = 60,
    GetTscKhz = 61,
    MaxVcpus = 66,
    TscDeadlineTimer = 72,
    KvmclockCtrl = 76,
    ImmediateExit = 136,
    GetMsrFeatures = 153,
    /// <summary>Answers the byte size of the XSAVE buffer (≥ 4096), or 0 when absent.</summary>
    Xsave2 = 208,
}
