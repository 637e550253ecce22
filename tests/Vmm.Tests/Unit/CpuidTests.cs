using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

/// <summary>Per-vCPU CPUID normalisation, on leaves shaped like this host's KVM_GET_SUPPORTED_CPUID (AMD).</summary>
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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void Every_vcpu_gets_its_own_apic_id_and_core_id_in_one_package(int count)
    {
        var coreIds = new HashSet<uint>();
        for (int id = 0; id < count; id++)
        {
            var e = Cpuid.ForVcpu(Supported, id, count, tscDeadline: true);
            var leaf1 = Leaf(e, 1);
            Assert.Equal((uint)id, leaf1.Ebx >> 24);
            Assert.Equal(1u << Cpuid.BitsFor(count), (leaf1.Ebx >> 16) & 0xFF);
            Assert.Equal(count > 1, (leaf1.Edx & (1u << 28)) != 0);
            Assert.NotEqual(0u, leaf1.Ecx & (1u << 31)); // hypervisor bit
            Assert.Equal((uint)id, Leaf(e, 0xB, 0).Edx);
            Assert.Equal((uint)count, Leaf(e, 0xB, 1).Ebx);
            Assert.Equal((uint)(count - 1), Leaf(e, 0x80000008).Ecx & 0xFF);
            var topo = Leaf(e, 0x8000001E);
            Assert.Equal((uint)id, topo.Eax);
            Assert.Equal(0u, (topo.Ebx >> 8) & 0xFF); // one thread per core
            Assert.Equal(0u, topo.Ecx);                // node 0 of 1
            Assert.True(coreIds.Add(topo.Ebx & 0xFF), $"core id {topo.Ebx & 0xFF} given twice");
        }
    }

    [Fact]
    public void Hypercall_based_kvm_features_are_hidden_only_when_asked()
    {
        uint kept = Leaf(Cpuid.ForVcpu(Supported, 0, 2, true), 0x40000001).Eax;
        uint hidden = Leaf(Cpuid.ForVcpu(Supported, 0, 2, true, pvHypercalls: false), 0x40000001).Eax;
        Assert.Equal(0x1007efbu, kept);
        Assert.Equal(0u, hidden & Cpuid.KvmHypercallFeatures);
        // kvm-clock, PV EOI, steal time and the rest stay.
        Assert.Equal(0x1007efbu & ~Cpuid.KvmHypercallFeatures, hidden);
        Assert.NotEqual(0u, hidden & 1u);
    }
}
