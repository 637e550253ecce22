namespace Csvmm.Kvm;

/// <summary>KVM request numbers (include/uapi/linux/kvm.h), computed from the _IOC encoding.</summary>
public static class KvmIoctl
{
    private const uint Kvmio = 0xAE;

    // System ioctls.
    public static readonly uint GetApiVersion = IoctlNumber.Io(Kvmio, 0x00);
    public static readonly uint CreateVm = IoctlNumber.Io(Kvmio, 0x01);
    public static readonly uint GetMsrIndexList = IoctlNumber.Iowr<KvmMsrListHeader>(Kvmio, 0x02);
    public static readonly uint CheckExtension = IoctlNumber.Io(Kvmio, 0x03);
    public static readonly uint GetVcpuMmapSize = IoctlNumber.Io(Kvmio, 0x04);
    public static readonly uint GetSupportedCpuid = IoctlNumber.Iowr<KvmCpuid2Header>(Kvmio, 0x05);

    // VM ioctls.
    public static readonly uint CreateVcpu = IoctlNumber.Io(Kvmio, 0x41);
    public static readonly uint SetUserMemoryRegion = IoctlNumber.Iow<KvmUserspaceMemoryRegion>(Kvmio, 0x46);
    public static readonly uint SetTssAddr = IoctlNumber.Io(Kvmio, 0x47);
    public static readonly uint SetIdentityMapAddr = IoctlNumber.Iow<ulong>(Kvmio, 0x48);
    public static readonly uint CreateIrqchip = IoctlNumber.Io(Kvmio, 0x60);
    public static readonly uint IrqLine = IoctlNumber.Iow<KvmIrqLevel>(Kvmio, 0x61);
    public static readonly uint GetIrqchip = IoctlNumber.Iowr<KvmIrqchip>(Kvmio, 0x62);
    // KVM_SET_IRQCHIP is declared _IOR in include/uapi/linux/kvm.h although it writes to KVM.
    public static readonly uint SetIrqchip = IoctlNumber.Ior<KvmIrqchip>(Kvmio, 0x63);
    public static readonly uint SetGsiRouting = IoctlNumber.Iow<KvmIrqRoutingHeader>(Kvmio, 0x6A);
    public static readonly uint Irqfd = IoctlNumber.Iow<KvmIrqfd>(Kvmio, 0x76);
    public static readonly uint CreatePit2 = IoctlNumber.Iow<KvmPitConfig>(Kvmio, 0x77);
    public static readonly uint Ioeventfd = IoctlNumber.Iow<KvmIoeventfd>(Kvmio, 0x79);
    public static readonly uint SetClock = IoctlNumber.Iow<KvmClockData>(Kvmio, 0x7B);
    public static readonly uint GetClock = IoctlNumber.Ior<KvmClockData>(Kvmio, 0x7C);
    public static readonly uint GetPit2 = IoctlNumber.Ior<KvmPitState2>(Kvmio, 0x9F);
    public static readonly uint SetPit2 = IoctlNumber.Iow<KvmPitState2>(Kvmio, 0xA0);

    // vCPU ioctls.
    public static readonly uint Run = IoctlNumber.Io(Kvmio, 0x80);
    public static readonly uint GetRegs = IoctlNumber.Ior<KvmRegs>(Kvmio, 0x81);
    public static readonly uint SetRegs = IoctlNumber.Iow<KvmRegs>(Kvmio, 0x82);
    public static readonly uint GetSregs = IoctlNumber.Ior<KvmSregs>(Kvmio, 0x83);
    public static readonly uint SetSregs = IoctlNumber.Iow<KvmSregs>(Kvmio, 0x84);
    public static readonly uint GetMsrs = IoctlNumber.Iowr<KvmMsrsHeader>(Kvmio, 0x88);
    public static readonly uint SetMsrs = IoctlNumber.Iow<KvmMsrsHeader>(Kvmio, 0x89);
    public static readonly uint GetFpu = IoctlNumber.Ior<KvmFpu>(Kvmio, 0x8C);
    public static readonly uint SetFpu = IoctlNumber.Iow<KvmFpu>(Kvmio, 0x8D);
    public static readonly uint GetLapic = IoctlNumber.Ior<KvmLapicState>(Kvmio, 0x8E);
    public static readonly uint SetLapic = IoctlNumber.Iow<KvmLapicState>(Kvmio, 0x8F);
    public static readonly uint SetCpuid2 = IoctlNumber.Iow<KvmCpuid2Header>(Kvmio, 0x90);
    public static readonly uint GetMpState = IoctlNumber.Ior<KvmMpState>(Kvmio, 0x98);
    public static readonly uint SetMpState = IoctlNumber.Iow<KvmMpState>(Kvmio, 0x99);
    public static readonly uint GetCpuid2 = IoctlNumber.Iowr<KvmCpuid2Header>(Kvmio, 0x91);
    public static readonly uint GetVcpuEvents = IoctlNumber.Ior<KvmVcpuEvents>(Kvmio, 0x9F);
    public static readonly uint SetVcpuEvents = IoctlNumber.Iow<KvmVcpuEvents>(Kvmio, 0xA0);
    public static readonly uint GetDebugRegs = IoctlNumber.Ior<KvmDebugRegs>(Kvmio, 0xA1);
    public static readonly uint SetDebugRegs = IoctlNumber.Iow<KvmDebugRegs>(Kvmio, 0xA2);
    public static readonly uint SetTscKhz = IoctlNumber.Io(Kvmio, 0xA2);
    public static readonly uint GetTscKhz = IoctlNumber.Io(Kvmio, 0xA3);
    public static readonly uint GetXsave = IoctlNumber.Ior<KvmXsave>(Kvmio, 0xA4);
    public static readonly uint SetXsave = IoctlNumber.Iow<KvmXsave>(Kvmio, 0xA5);
    public static readonly uint GetXcrs = IoctlNumber.Ior<KvmXcrs>(Kvmio, 0xA6);
    public static readonly uint SetXcrs = IoctlNumber.Iow<KvmXcrs>(Kvmio, 0xA7);
    public static readonly uint KvmclockCtrl = IoctlNumber.Io(Kvmio, 0xAD);
    public static readonly uint GetXsave2 = IoctlNumber.Ior<KvmXsave>(Kvmio, 0xCF);

    /// <summary>Names for error messages; a switch keeps it allocation-free and AOT friendly.</summary>
    public static string Name(uint request)
    {
        if (request == GetApiVersion) return "KVM_GET_API_VERSION";
        if (request == CreateVm) return "KVM_CREATE_VM";
        if (request == GetMsrIndexList) return "KVM_GET_MSR_INDEX_LIST";
        if (request == CheckExtension) return "KVM_CHECK_EXTENSION";
        if (request == GetVcpuMmapSize) return "KVM_GET_VCPU_MMAP_SIZE";
        if (request == GetSupportedCpuid) return "KVM_GET_SUPPORTED_CPUID";
        if (request == CreateVcpu) return "KVM_CREATE_VCPU";
        if (request == SetUserMemoryRegion) return "KVM_SET_USER_MEMORY_REGION";
        if (request == SetTssAddr) return "KVM_SET_TSS_ADDR";
        if (request == SetIdentityMapAddr) return "KVM_SET_IDENTITY_MAP_ADDR";
        if (request == CreateIrqchip) return "KVM_CREATE_IRQCHIP";
        if (request == IrqLine) return "KVM_IRQ_LINE";
        if (request == GetIrqchip) return "KVM_GET_IRQCHIP";
        if (request == SetIrqchip) return "KVM_SET_IRQCHIP";
        if (request == SetGsiRouting) return "KVM_SET_GSI_ROUTING";
        if (request == Irqfd) return "KVM_IRQFD";
        if (request == CreatePit2) return "KVM_CREATE_PIT2";
        if (request == Ioeventfd) return "KVM_IOEVENTFD";
        if (request == SetClock) return "KVM_SET_CLOCK";
        if (request == GetClock) return "KVM_GET_CLOCK";
        if (request == GetPit2) return "KVM_GET_PIT2";
        if (request == SetPit2) return "KVM_SET_PIT2";
        if (request == Run) return "KVM_RUN";
        if (request == GetRegs) return "KVM_GET_REGS";
        if (request == SetRegs) return "KVM_SET_REGS";
        if (request == GetSregs) return "KVM_GET_SREGS";
        if (request == SetSregs) return "KVM_SET_SREGS";
        if (request == GetMsrs) return "KVM_GET_MSRS";
        if (request == SetMsrs) return "KVM_SET_MSRS";
        if (request == GetFpu) return "KVM_GET_FPU";
        if (request == SetFpu) return "KVM_SET_FPU";
        if (request == GetLapic) return "KVM_GET_LAPIC";
        if (request == SetLapic) return "KVM_SET_LAPIC";
        if (request == SetCpuid2) return "KVM_SET_CPUID2";
        if (request == GetMpState) return "KVM_GET_MP_STATE";
        if (request == SetMpState) return "KVM_SET_MP_STATE";
        if (request == GetCpuid2) return "KVM_GET_CPUID2";
        if (request == GetVcpuEvents) return "KVM_GET_VCPU_EVENTS";
        if (request == SetVcpuEvents) return "KVM_SET_VCPU_EVENTS";
        if (request == GetDebugRegs) return "KVM_GET_DEBUGREGS";
        if (request == SetDebugRegs) return "KVM_SET_DEBUGREGS";
        if (request == SetTscKhz) return "KVM_SET_TSC_KHZ";
        if (request == GetTscKhz) return "KVM_GET_TSC_KHZ";
        if (request == GetXsave) return "KVM_GET_XSAVE";
        if (request == SetXsave) return "KVM_SET_XSAVE";
        if (request == GetXcrs) return "KVM_GET_XCRS";
        if (request == SetXcrs) return "KVM_SET_XCRS";
        if (request == KvmclockCtrl) return "KVM_KVMCLOCK_CTRL";
        if (request == GetXsave2) return "KVM_GET_XSAVE2";
        return $"ioctl 0x{request:x8}";
    }
}
