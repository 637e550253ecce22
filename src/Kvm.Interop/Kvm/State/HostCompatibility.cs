using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Csvmm.Kvm.State;

/// <summary>
/// Whether a captured <see cref="VcpuState"/> fits this host's KVM, checked before anything is
/// written. KVM_SET_CPUID2 takes any table, so a state from another CPU would otherwise restore
/// "successfully" and the guest would fault on its first instruction the host lacks.
/// </summary>
internal static class HostCompatibility
{
    /// <summary>
    /// CPUID bits a vCPU's table may have although KVM_GET_SUPPORTED_CPUID does not list them:
    /// those KVM updates at run time from the guest's CR4 and APIC state (arch/x86/kvm/cpuid.c,
    /// kvm_update_cpuid_runtime: OSXSAVE, APIC, OSPKE, MWAIT) and those a VMM sets itself
    /// (TSC-deadline, gated by KVM_CAP_TSC_DEADLINE_TIMER; HTT for the topology).
    /// </summary>
    private static readonly (uint Leaf, uint Subleaf, int Register, uint SelfSet)[] FeatureWords =
    [
        (0x1, 0, Ecx, (1u << 3) | (1u << 24) | (1u << 27)),
        (0x1, 0, Edx, (1u << 9) | (1u << 28)),
        (0x7, 0, Ebx, 0),
        (0x7, 0, Ecx, 1u << 4),
        (0x7, 0, Edx, 0),
        (0x7, 1, Eax, 0),
        (0xD, 0, Eax, 0),
        (0xD, 0, Edx, 0),
        (0x80000001, 0, Ecx, 0),
        (0x80000001, 0, Edx, 0),
    ];

    private const int Eax = 0, Ebx = 1, Ecx = 2, Edx = 3;
    private static readonly string[] RegisterNames = ["EAX", "EBX", "ECX", "EDX"];

    /// <summary>The XSAVE header's XSTATE_BV: which components the image holds (Intel SDM Vol. 1, 13.4.2).</summary>
    private const int XstateBvOffset = 512;

    /// <summary>TSC rates within 250 ppm count as equal: calibration at host boot differs that much (Firecracker vcpu.rs, TSC_KHZ_TOL).</summary>
    private const long TscToleranceDenominator = 1_000_000 / 250;

    public static bool TscDiffers(uint current, uint wanted) =>
        Math.Abs((long)current - wanted) > wanted / TscToleranceDenominator;

    /// <summary>Throws <see cref="KvmStateMismatchException"/> naming the first thing <paramref name="vcpu"/>'s host cannot take.</summary>
    public static void Check(VcpuState state, KvmVcpu vcpu)
    {
        var vm = vcpu.Vm;
        var (supported, effective) = OfferedCpuid(vm.System);
        CheckVendor(state.Cpuid, supported);
        foreach (var (leaf, subleaf, register, selfSet) in FeatureWords)
        {
            uint captured = Find(state.Cpuid, leaf, subleaf) is { } c ? Register(c, register) : 0;
            uint offered = (Find(supported, leaf, subleaf) is { } s ? Register(s, register) : 0)
                | (Find(effective, leaf, subleaf) is { } f ? Register(f, register) : 0);
            uint missing = captured & ~(offered | selfSet);
            if (missing != 0)
                throw Mismatch($"it uses CPU features this host's KVM does not offer: CPUID leaf 0x{leaf:x}.{subleaf} {RegisterNames[register]} bits 0x{missing:x}");
        }

        ulong xcr0Supported = Xcr0(supported) | Xcr0(effective);
        if (state.Xsave is { } xsave)
        {
            if (vm.XsaveSize == 0)
                throw Mismatch("it has an XSAVE image and KVM on this host has no XSAVE");
            ulong components = BinaryPrimitives.ReadUInt64LittleEndian(xsave.AsSpan(XstateBvOffset));
            if ((components & ~xcr0Supported & ~0x3UL) != 0)
                throw Mismatch($"its XSAVE image holds state components 0x{components & ~xcr0Supported:x} this host does not support");
        }
        if (state.Xcrs is KvmXcrs xcrs)
        {
            if (vm.CheckExtension(KvmCap.Xcrs) <= 0)
                throw Mismatch("it has XCRs and KVM on this host lacks KVM_CAP_XCRS");
            for (int i = 0; i < Math.Min((int)xcrs.NrXcrs, KvmXcrs.MaxXcrs); i++)
                if (xcrs.GetXcr(i) is { Xcr: 0 } xcr0 && (xcr0.Value & ~xcr0Supported) != 0)
                    throw Mismatch($"its XCR0 0x{xcr0.Value:x} enables state components this host does not support");
        }

        var listed = new HashSet<uint>(vm.System.MsrIndexList);
        foreach (var msr in state.Msrs)
            if (!listed.Contains(msr.Index))
                throw Mismatch($"it has MSR 0x{msr.Index:x}, which KVM on this host does not save and restore");

        if (state.TscKhz is uint khz && vm.CheckExtension(KvmCap.GetTscKhz) > 0 && vm.CheckExtension(KvmCap.TscControl) <= 0)
        {
            // Without TSC scaling KVM_SET_TSC_KHZ takes a faster rate (it catches the guest TSC up
            // in software) but refuses a slower one (arch/x86/kvm/x86.c, set_tsc_khz).
            uint here = vcpu.GetTscKhz();
            if (TscDiffers(here, khz) && khz < here)
                throw Mismatch($"its TSC ran at {khz} kHz, this host's at {here} kHz, and KVM here cannot scale the TSC");
        }
    }

    /// <summary>
    /// What this host's KVM offers a guest: KVM_GET_SUPPORTED_CPUID, and the table KVM_GET_CPUID2
    /// reports once that was set on a scratch vCPU. The two are the same on a stock KVM; KVM's PVM
    /// backend rewrites a vCPU's table to the host CPU's own features (measured: leaf 1 ECX set as
    /// 0x81202000 reads back as 0xf7f83203), and that rewritten table is what a capture holds.
    /// </summary>
    private static (KvmCpuidEntry2[] Supported, KvmCpuidEntry2[] Effective) OfferedCpuid(KvmSystem kvm) =>
        Offered.GetValue(kvm, ProbeOfferedCpuid).Value;

    /// <summary>Asked once per KVM descriptor: the answer depends only on the host and its KVM.</summary>
    private static readonly ConditionalWeakTable<KvmSystem, StrongBox<(KvmCpuidEntry2[], KvmCpuidEntry2[])>> Offered = new();

    private static StrongBox<(KvmCpuidEntry2[], KvmCpuidEntry2[])> ProbeOfferedCpuid(KvmSystem kvm)
    {
        var supported = kvm.GetSupportedCpuid();
        var scratchVm = kvm.CreateVm();
        KvmVcpu? scratch = null;
        try
        {
            scratch = scratchVm.CreateVcpu(0);
            scratch.SetCpuid(supported);
            return new((supported, scratch.GetCpuid()));
        }
        finally
        {
            // Tearing a VM down takes KVM 0.3-5 ms here (measured); keep that off the restore's path.
            ThreadPool.QueueUserWorkItem(_ =>
            {
                scratch?.Dispose();
                scratchVm.Dispose();
            });
        }
    }

    /// <summary>The XSAVE components a CPUID table allows in XCR0 (leaf 0xD.0 EDX:EAX).</summary>
    private static ulong Xcr0(KvmCpuidEntry2[] cpuid) => Find(cpuid, 0xD, 0) is { } d ? d.Eax | ((ulong)d.Edx << 32) : 0;

    private static void CheckVendor(KvmCpuidEntry2[] captured, KvmCpuidEntry2[] supported)
    {
        if (Find(captured, 0, 0) is not { } c || Find(supported, 0, 0) is not { } s) return;
        if (c.Ebx != s.Ebx || c.Ecx != s.Ecx || c.Edx != s.Edx)
            throw Mismatch($"it was captured on a {Vendor(c)} CPU and this host has a {Vendor(s)} CPU");
    }

    private static string Vendor(KvmCpuidEntry2 leaf0)
    {
        Span<byte> name = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(name, leaf0.Ebx);
        BinaryPrimitives.WriteUInt32LittleEndian(name[4..], leaf0.Edx);
        BinaryPrimitives.WriteUInt32LittleEndian(name[8..], leaf0.Ecx);
        foreach (byte b in name)
            if (b < 0x20 || b > 0x7E) return $"0x{leaf0.Ebx:x8}{leaf0.Edx:x8}{leaf0.Ecx:x8}";
        return System.Text.Encoding.ASCII.GetString(name);
    }

    /// <summary>The entry for a leaf (and, where the index is significant, its sub-leaf).</summary>
    private static KvmCpuidEntry2? Find(KvmCpuidEntry2[] entries, uint leaf, uint subleaf)
    {
        foreach (var e in entries)
            if (e.Function == leaf && ((e.Flags & KvmCpuidEntry2.FlagSignificantIndex) == 0 || e.Index == subleaf))
                return e;
        return null;
    }

    private static uint Register(KvmCpuidEntry2 e, int register) => register switch
    {
        Eax => e.Eax,
        Ebx => e.Ebx,
        Ecx => e.Ecx,
        _ => e.Edx,
    };

    private static KvmStateMismatchException Mismatch(string why) =>
        new($"the vCPU state cannot be restored on this host: {why}");
}
