using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

/// <summary>
/// Per-vCPU CPUID normalisation, on leaves shaped like this host's KVM_GET_SUPPORTED_CPUID (AMD).
/// Every expectation is a literal register value worked out from the leaf layouts in the Intel SDM
/// (Vol. 2A, CPUID: leaves 01H, 04H, 0BH) and the AMD APM (Vol. 3, CPUID Fn8000_0008, Fn8000_001E),
/// and KVM's leaf 0x40000001 in Documentation/virt/kvm/x86/cpuid.rst: what Linux reads, never
/// values computed with the code under test.
/// </summary>
public sealed class CpuidTests
{
    private static readonly KvmCpuidEntry2[] Supported =
    [
        new() { Function = 0, Eax = 0x10 },
        new() { Function = 1, Eax = 0xa00f11, Ebx = 0x20800, Ecx = 0x81202000, Edx = 0x78bfbff },
        new() { Function = 0xB, Index = 0, Flags = KvmCpuidEntry2.FlagSignificantIndex },
        new() { Function = 0x40000000, Eax = 0x40000001, Ebx = 0x4b4d564b, Ecx = 0x564b4d56, Edx = 0x4d },
        new() { Function = 0x40000001, Eax = 0x1007efb },
        new() { Function = 0x80000001, Eax = 0xa00f11, Ecx = 0x400393 },
        new() { Function = 0x80000008, Eax = 0x3030, Ecx = 0x7001 },
        new() { Function = 0x8000001E },
    ];

    private static KvmCpuidEntry2 Leaf(KvmCpuidEntry2[] entries, uint function, uint index = 0) =>
        entries.Single(e => e.Function == function && e.Index == index);

    private static (uint Eax, uint Ebx, uint Ecx, uint Edx) Regs(KvmCpuidEntry2 e) => (e.Eax, e.Ebx, e.Ecx, e.Edx);

    /// <summary>
    /// Leaf 1 EBX: [31:24] initial APIC id, [23:16] addressable logical-processor ids in the package
    /// (a power of two: 1, 2, 4, 4, 8), [15:8] CLFLUSH line size in 8-byte units (8 = 64 bytes),
    /// [7:0] brand index 0. EDX bit 28 (HTT) says [23:16] is valid: set when there is more than one.
    /// Leaf 0BH sub-leaf 1 (the core level): EAX[4:0] = bits to shift the x2APIC id right to get the
    /// package id (ceil(log2(count))), EBX = logical processors in the package.
    /// Fn8000_0008 ECX: [15:12] ApicIdSize (the same bit count), [7:0] NC = threads in package - 1.
    /// </summary>
    [Theory]
    [InlineData(1, 0, 0x00010800u, 0x078BFBFFu, 0u, 0x0000u)]
    [InlineData(2, 0, 0x00020800u, 0x178BFBFFu, 1u, 0x1001u)]
    [InlineData(2, 1, 0x01020800u, 0x178BFBFFu, 1u, 0x1001u)]
    [InlineData(3, 2, 0x02040800u, 0x178BFBFFu, 2u, 0x2002u)]
    [InlineData(8, 5, 0x05080800u, 0x178BFBFFu, 3u, 0x3007u)]
    public void Each_vcpu_reports_its_apic_id_and_a_package_of_count_cores(int count, int id, uint leaf1Ebx, uint leaf1Edx,
        uint packageShift, uint ext8Ecx)
    {
        var e = Cpuid.ForVcpu(Supported, id, count, tscDeadline: true);
        var leaf1 = Leaf(e, 1);
        Assert.Equal(leaf1Ebx, leaf1.Ebx);
        Assert.Equal(leaf1Edx, leaf1.Edx);
        Assert.Equal(0x00a00f11u, leaf1.Eax);

        // Leaf 0BH: sub-leaf 0 = SMT level (type 1 in ECX[15:8]), one thread per core; sub-leaf 1 =
        // core level (type 2); sub-leaf 2 ends the list (type 0). EDX = x2APIC id in every sub-leaf.
        Assert.Equal((0u, 1u, 0x100u, (uint)id), Regs(Leaf(e, 0xB, 0)));
        Assert.Equal((packageShift, (uint)count, 0x201u, (uint)id), Regs(Leaf(e, 0xB, 1)));
        Assert.Equal((0u, 0u, 2u, (uint)id), Regs(Leaf(e, 0xB, 2)));

        Assert.Equal((0x3030u, 0u, ext8Ecx, 0u), Regs(Leaf(e, 0x80000008)));
        // Fn8000_001E: EAX extended APIC id, EBX[7:0] core id and [15:8] threads per core - 1 (0),
        // ECX[7:0] node id and [10:8] nodes per processor - 1 (both 0).
        Assert.Equal(((uint)id, (uint)id, 0u, 0u), Regs(Leaf(e, 0x8000001E)));
    }

    [Fact]
    public void Core_ids_differ_between_vcpus()
    {
        var ids = Enumerable.Range(0, 8).Select(id => Leaf(Cpuid.ForVcpu(Supported, id, 8, tscDeadline: true), 0x8000001E).Ebx & 0xFF);
        Assert.Equal([0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u], ids);
    }

    /// <summary>
    /// Leaf 1 ECX: bit 31 says a hypervisor is present (Linux's X86_FEATURE_HYPERVISOR), bit 24 is
    /// TSC-deadline (set only when KVM can emulate it), bit 15 PDCM is cleared (no perf capabilities
    /// MSR for the guest); EDX bit 28 HTT is cleared for one vCPU even if the host had it.
    /// </summary>
    [Theory]
    [InlineData(true, 0x81200001u)]
    [InlineData(false, 0x80200001u)]
    public void Leaf_1_says_hypervisor_and_tsc_deadline_and_drops_pdcm(bool tscDeadline, uint ecx)
    {
        KvmCpuidEntry2[] bare = [new() { Function = 0, Eax = 1 }, new() { Function = 1, Ecx = 0x00208001, Edx = 0x10000001 }];
        var leaf1 = Leaf(Cpuid.ForVcpu(bare, 0, 1, tscDeadline), 1);
        Assert.Equal(ecx, leaf1.Ecx);
        Assert.Equal(0x00000001u, leaf1.Edx);
    }

    /// <summary>
    /// Leaf 04H EAX (Intel): [31:26] addressable core ids in the package - 1, [25:14] addressable
    /// logical processors sharing the cache - 1 (0 for per-core L1/L2, count - 1 for the L3), the
    /// cache's own bits [13:0] (type, level, self-initialising) kept, the host's topology dropped.
    /// </summary>
    [Theory]
    [InlineData(2, 0x04000121u, 0x04004163u)]
    [InlineData(8, 0x1C000121u, 0x1C01C163u)]
    public void Cache_leaf_4_describes_cores_of_one_package(int count, uint l1, uint l3)
    {
        KvmCpuidEntry2[] intel =
        [
            new() { Function = 0, Eax = 0xB },
            new() { Function = 4, Index = 0, Flags = KvmCpuidEntry2.FlagSignificantIndex, Eax = 0xFFFFC121 },
            new() { Function = 4, Index = 3, Flags = KvmCpuidEntry2.FlagSignificantIndex, Eax = 0xFFFFC163 },
        ];
        var e = Cpuid.ForVcpu(intel, 1, count, tscDeadline: true);
        Assert.Equal(l1, Leaf(e, 4, 0).Eax);
        Assert.Equal(l3, Leaf(e, 4, 3).Eax);
    }

    /// <summary>
    /// KVM's feature leaf 0x40000001 EAX: bits 7 (PV_UNHALT), 11 (PV_SEND_IPI) and 13
    /// (PV_SCHED_YIELD) make the guest issue hypercalls; hidden, they go (0x1007efb - 0x2880), and
    /// kvm-clock, PV EOI, steal time and the rest stay.
    /// </summary>
    [Fact]
    public void Hypercall_based_kvm_features_are_hidden_only_when_asked()
    {
        Assert.Equal(0x01007EFBu, Leaf(Cpuid.ForVcpu(Supported, 0, 2, true), 0x40000001).Eax);
        Assert.Equal(0x0100567Bu, Leaf(Cpuid.ForVcpu(Supported, 0, 2, true, pvHypercalls: false), 0x40000001).Eax);
    }
}
