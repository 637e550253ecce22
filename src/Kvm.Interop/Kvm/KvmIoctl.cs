namespace Csvmm.Kvm;

/// <summary>KVM request numbers (include/uapi/linux/kvm.h), computed from the _IOC encoding.</summary>
public static class KvmIoctl
{
    private const uint Kvmio = 0xAE;

    // System ioctls.
    public static readonly uint GetApiVersion = IoctlNumber.Io(Kvmio, 0x00);
    public static readonly uint CreateVm = IoctlNumber.Io(Kvmio, 0x01);
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
    public static readonly uint SetGsiRouting = IoctlNumber.Iow<KvmIrqRoutingHeader>(Kvmio, 0x6A);
    public static readonly uint Irqfd = IoctlNumber.Iow<KvmIrqfd>(Kvmio, 0x76);
    public static readonly uint CreatePit2 = IoctlNumber.Iow<KvmPitConfig>(Kvmio, 0x77);
    public static readonly uint Ioeventfd = IoctlNumber.Iow<KvmIoeventfd>(Kvmio, 0x79);

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

    /// <summary>Names for error messages; a switch keeps it allocation-free and AOT friendly.</summary>
    public static string Name(uint request)
    {
        if (request == GetApiVersion) return "KVM_GET_API_VERSION";
        if (request == CreateVm) return "KVM_CREATE_VM";
        if (request == CheckExtension) return "KVM_CHECK_EXTENSION";
        if (request == GetVcpuMmapSize) return "KVM_GET_VCPU_MMAP_SIZE";
        if (request == GetSupportedCpuid) return "KVM_GET_SUPPORTED_CPUID";
        if (request == CreateVcpu) return "KVM_CREATE_VCPU";
        if (request == SetUserMemoryRegion) return "KVM_SET_USER_MEMORY_REGION";
        if (request == SetTssAddr) return "KVM_SET_TSS_ADDR";
        if (request == SetIdentityMapAddr) return "KVM_SET_IDENTITY_MAP_ADDR";
        if (request == CreateIrqchip) return "KVM_CREATE_IRQCHIP";
        if (request == IrqLine) return "KVM_IRQ_LINE";
        if (request == SetGsiRouting) return "KVM_SET_GSI_ROUTING";
        if (request == Irqfd) return "KVM_IRQFD";
        if (request == CreatePit2) return "KVM_CREATE_PIT2";
        if (request == Ioeventfd) return "KVM_IOEVENTFD";
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
        return $"ioctl 0x{request:x8}";
    }
}
