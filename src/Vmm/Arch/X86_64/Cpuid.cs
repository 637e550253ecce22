using Csvmm.Kvm;

namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>
/// Normalises KVM_GET_SUPPORTED_CPUID for one vCPU (Documentation/virt/kvm/api.rst, KVM_GET_SUPPORTED_CPUID): APIC ids, the hypervisor bit,
/// TSC-deadline, and a consistent topology (one thread per core, all cores in one package) in
/// leaves 1, 4, 0xB/0x1F, 0x80000008 and 0x8000001E. KVM's own leaves 0x40000000/1 (kvm-clock) are kept.
/// </summary>
public static class Cpuid
{
    private const uint Leaf1EcxTscDeadline = 1u << 24;
    private const uint Leaf1EcxHypervisor = 1u << 31;
    private const uint Leaf1EcxPdcm = 1u << 15;
    private const uint Leaf1EdxHtt = 1u << 28;
    private const int ClflushLineSize = 8; // in 8-byte units: 64 bytes

    /// <summary>Bits needed to number <paramref name="count"/> ids (ceil(log2)).</summary>
    public static int BitsFor(int count) => count <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(count - 1));

    private const uint KvmFeaturesLeaf = 0x40000001;
    private const uint KvmFeaturePvUnhalt = 1u << 7;     // pv spinlocks: KVM_HC_KICK_CPU
    private const uint KvmFeaturePvSendIpi = 1u << 11;   // KVM_HC_SEND_IPI
    private const uint KvmFeaturePvSchedYield = 1u << 13; // KVM_HC_SCHED_YIELD

    /// <summary>The paravirtual features a guest uses through hypercalls.</summary>
    public const uint KvmHypercallFeatures = KvmFeaturePvUnhalt | KvmFeaturePvSendIpi | KvmFeaturePvSchedYield;

    /// <param name="pvHypercalls">
    /// false hides the KVM features that make the guest issue hypercalls (PV IPIs, PV spinlock
    /// kicks, PV yield); the guest then uses the (emulated) local APIC for all of them.
    /// </param>
    public static KvmCpuidEntry2[] ForVcpu(ReadOnlySpan<KvmCpuidEntry2> supported, int vcpuId, int vcpuCount, bool tscDeadline,
        bool pvHypercalls = true)
    {
        var list = new List<KvmCpuidEntry2>(supported.Length + 4);
        bool hasLeafB = false, hasLeaf1F = false;
        uint maxBasic = 0;
        foreach (var e in supported)
            if (e.Function == 0) maxBasic = e.Eax;

        foreach (var src in supported)
        {
            var e = src;
            switch (e.Function)
            {
                case 1:
                    e.Ebx = (e.Ebx & 0x0000FFFF & ~0xFF00u)
                        | ((uint)vcpuId << 24)
                        | ((uint)(1 << BitsFor(vcpuCount)) << 16)
                        | ((uint)ClflushLineSize << 8);
                    e.Ecx |= Leaf1EcxHypervisor;
                    e.Ecx &= ~Leaf1EcxPdcm;
                    if (tscDeadline) e.Ecx |= Leaf1EcxTscDeadline;
                    if (vcpuCount > 1) e.Edx |= Leaf1EdxHtt; else e.Edx &= ~Leaf1EdxHtt;
                    break;
                case 4:
                    // Deterministic cache parameters (Intel): threads sharing this cache, cores per package.
                    uint level = (e.Eax >> 5) & 0x7;
                    uint sharing = level <= 2 ? 0u : (uint)(vcpuCount - 1);
                    uint cores = (uint)((1 << BitsFor(vcpuCount)) - 1);
                    e.Eax = (e.Eax & 0x3FFF) | ((sharing & 0xFFF) << 14) | ((cores & 0x3F) << 26);
                    break;
                case 0xB:
                case 0x1F:
                    // KVM lists only sub-leaf 0: the whole leaf (SMT, core, end) is written below.
                    if (e.Function == 0xB) hasLeafB = true; else hasLeaf1F = true;
                    continue;
                case 0x8000001E:
                    // AMD TOPOEXT (KVM leaves it zero, so every vCPU would claim core 0):
                    // EAX extended APIC id, EBX core id with one thread per core, ECX node 0 of 1.
                    e.Eax = (uint)vcpuId;
                    e.Ebx = (uint)vcpuId & 0xFF;
                    e.Ecx = 0;
                    e.Edx = 0;
                    break;
                case KvmFeaturesLeaf when !pvHypercalls:
                    e.Eax &= ~KvmHypercallFeatures;
                    break;
                case 0x80000008:
                    // AMD: ECX[7:0] = threads in package - 1, ECX[15:12] = APIC-id size.
                    e.Ecx = (e.Ecx & ~0xF0FFu) | (uint)(vcpuCount - 1) | ((uint)BitsFor(vcpuCount) << 12);
                    break;
            }
            list.Add(e);
        }

        for (uint sub = 0; sub < 3; sub++)
        {
            if (hasLeafB || maxBasic >= 0xB) list.Add(TopologyLeaf(0xB, sub, vcpuId, vcpuCount));
            if (hasLeaf1F) list.Add(TopologyLeaf(0x1F, sub, vcpuId, vcpuCount));
        }
        return list.ToArray();
    }

    /// <summary>Extended topology (0xB/0x1F): level 0 SMT (1 thread), level 1 core (all vCPUs), then the terminator.</summary>
    private static KvmCpuidEntry2 TopologyLeaf(uint function, uint subleaf, int vcpuId, int vcpuCount)
    {
        var e = new KvmCpuidEntry2 { Function = function, Index = subleaf, Flags = KvmCpuidEntry2.FlagSignificantIndex, Edx = (uint)vcpuId };
        switch (subleaf)
        {
            case 0:
                e.Eax = 0;
                e.Ebx = 1;
                e.Ecx = (1u << 8) | subleaf;
                break;
            case 1:
                e.Eax = (uint)BitsFor(vcpuCount);
                e.Ebx = (uint)vcpuCount;
                e.Ecx = (2u << 8) | subleaf;
                break;
            default:
                e.Eax = 0;
                e.Ebx = 0;
                e.Ecx = subleaf;
                break;
        }
        return e;
    }
}
