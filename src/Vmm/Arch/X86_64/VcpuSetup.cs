using Csvmm.Kvm;

namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>Puts a vCPU into the state the Linux 64-bit boot protocol expects
/// (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol": long mode, identity-mapped paging, RSI = boot_params),
/// or for a PVH kernel the state of the PVH entry (xen docs/misc/pvh.pandoc: 32-bit protected mode,
/// paging off, EBX = hvm_start_info).</summary>
public static class VcpuSetup
{
    private const ulong Cr0Pe = 1, Cr0Et = 1 << 4, Cr0Pg = 1UL << 31;
    private const ulong Cr4Pae = 1 << 5;
    private const ulong EferLme = 1 << 8, EferLma = 1 << 10;
    private const ulong RflagsReserved = 0x2;
    private const ushort FpuControlWord = 0x37F;
    private const uint MxcsrDefault = 0x1F80;

    private const int LapicLvtLint0 = 0x350;
    private const int LapicLvtLint1 = 0x360;
    private const uint DeliveryModeExtInt = 7;
    private const uint DeliveryModeNmi = 4;

    public static void Configure(KvmVcpu vcpu, ReadOnlySpan<KvmCpuidEntry2> cpuid, ulong entryPoint, ulong cr3, bool pvh = false)
    {
        // CPUID first: newer KVMs hide CPUID-gated MSRs until it is set (KVM_SET_MSRS is checked against the guest CPUID, arch/x86/kvm/x86.c).
        vcpu.SetCpuid(cpuid);
        vcpu.SetMsrs(Msrs.BootEntries());

        vcpu.SetRegs(pvh ? PvhRegs(entryPoint) : BootRegs(entryPoint));

        var fpu = new KvmFpu { Fcw = FpuControlWord, Mxcsr = MxcsrDefault };
        vcpu.SetFpu(fpu);

        var sregs = vcpu.GetSregs();
        if (pvh) ConfigurePvhSregs(ref sregs);
        else ConfigureSregs(ref sregs, cr3);
        vcpu.SetSregs(sregs);

        ConfigureLapic(vcpu);
    }

    public static KvmRegs BootRegs(ulong entryPoint) => new()
    {
        Rip = entryPoint,
        Rsi = Layout.ZeroPageAddress,
        Rsp = Layout.BootStackPointer,
        Rbp = Layout.BootStackPointer,
        Rflags = RflagsReserved,
    };

    /// <summary>EBX = hvm_start_info; IF, TF and VM clear; the kernel sets up its own stack.</summary>
    public static KvmRegs PvhRegs(ulong entryPoint) => new()
    {
        Rip = entryPoint,
        Rbx = Layout.PvhStartInfoAddress,
        Rflags = RflagsReserved,
    };

    /// <summary>
    /// PVH entry state: CR0 = PE (+ ET, which is read-only 1 on every CPU since the 486) and no
    /// other bit, CR4 = 0, EFER = 0; flat 32-bit segments from <see cref="Gdt.PvhEntries"/>.
    /// </summary>
    public static void ConfigurePvhSregs(ref KvmSregs sregs)
    {
        var code = Gdt.Segment(Gdt.CodeSelector, Gdt.PvhEntries);
        var data = Gdt.Segment(Gdt.DataSelector, Gdt.PvhEntries);
        sregs.Cs = code;
        sregs.Ds = data;
        sregs.Es = data;
        sregs.Fs = data;
        sregs.Gs = data;
        sregs.Ss = data;
        sregs.Tr = Gdt.Segment(Gdt.TssSelector, Gdt.PvhEntries);
        sregs.Gdt = new KvmDtable { Base = Layout.GdtAddress, Limit = (ushort)(Gdt.PvhEntries.Length * 8 - 1) };
        sregs.Idt = new KvmDtable { Base = Layout.IdtAddress, Limit = 7 };
        sregs.Cr0 = Cr0Pe | Cr0Et;
        sregs.Cr3 = 0;
        sregs.Cr4 = 0;
        sregs.Efer = 0;
    }

    public static void ConfigureSregs(ref KvmSregs sregs, ulong cr3)
    {
        var code = Gdt.Segment(Gdt.CodeSelector);
        var data = Gdt.Segment(Gdt.DataSelector);
        var tss = Gdt.Segment(Gdt.TssSelector);
        sregs.Cs = code;
        sregs.Ds = data;
        sregs.Es = data;
        sregs.Fs = data;
        sregs.Gs = data;
        sregs.Ss = data;
        sregs.Tr = tss;
        sregs.Gdt = new KvmDtable { Base = Layout.GdtAddress, Limit = (ushort)(Gdt.Entries.Length * 8 - 1) };
        sregs.Idt = new KvmDtable { Base = Layout.IdtAddress, Limit = 7 };
        sregs.Cr0 = Cr0Pe | Cr0Et | Cr0Pg;
        sregs.Cr3 = cr3;
        sregs.Cr4 = Cr4Pae;
        sregs.Efer = EferLme | EferLma;
    }

    /// <summary>LINT0 = ExtINT, LINT1 = NMI: the "virtual wire" the MP table declares (pitfall 14).</summary>
    private static void ConfigureLapic(KvmVcpu vcpu)
    {
        var lapic = vcpu.GetLapic();
        SetDeliveryMode(ref lapic, LapicLvtLint0, DeliveryModeExtInt);
        SetDeliveryMode(ref lapic, LapicLvtLint1, DeliveryModeNmi);
        vcpu.SetLapic(lapic);
    }

    private static void SetDeliveryMode(ref KvmLapicState lapic, int offset, uint mode) =>
        lapic.SetRegister(offset, (lapic.GetRegister(offset) & ~0x700u) | (mode << 8));
}
