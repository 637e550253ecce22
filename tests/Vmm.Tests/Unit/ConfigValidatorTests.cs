using Csvmm.Vmm.Arch.X86_64;
using Csvmm.Vmm.Config;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

/// <summary>Every limit is checked in one place, before anything is opened, with its documented exception.</summary>
public sealed class ConfigValidatorTests
{
    private static VmConfig With(int disks, VirtioTransportKind transport) => new()
    {
        KernelPath = "k",
        Transport = transport,
        Disks = Enumerable.Range(0, disks).Select(i => new DiskConfig($"d{i}.img")).ToList(),
    };

    [Fact]
    public void Virtio_mmio_devices_beyond_the_free_interrupt_lines_are_a_configuration_error()
    {
        VmConfigValidator.Validate(With(ResourceAllocator.VirtioMmioCapacity, VirtioTransportKind.Mmio), HostLimits.Unknown);
        var e = Assert.Throws<ConfigLimitException>(() =>
            VmConfigValidator.Validate(With(ResourceAllocator.VirtioMmioCapacity + 1, VirtioTransportKind.Mmio), HostLimits.Unknown));
        Assert.Contains("at most 17", e.Message);
    }

    [Fact]
    public void Virtio_pci_devices_beyond_the_bus_slots_are_a_configuration_error()
    {
        VmConfigValidator.Validate(With(31, VirtioTransportKind.Pci), HostLimits.Unknown);
        var e = Assert.Throws<ConfigLimitException>(() => VmConfigValidator.Validate(With(32, VirtioTransportKind.Pci), HostLimits.Unknown));
        Assert.Contains("PCI bus has slots for at most 31", e.Message);
    }

    [Fact]
    public void Vcpus_above_kvms_limit_are_a_configuration_error()
    {
        var config = new VmConfig { KernelPath = "k", Cpus = 4 };
        Assert.Throws<ConfigLimitException>(() => VmConfigValidator.Validate(config, new HostLimits(0, KvmMaxVcpus: 2)));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1e12)]
    [InlineData(double.NaN)]
    public void Timeout_out_of_range_is_a_usage_error(double seconds) =>
        Assert.Throws<UsageException>(() => VmConfigValidator.Validate(new VmConfig { KernelPath = "k", TimeoutSeconds = seconds }, HostLimits.Unknown));

    [Theory]
    [InlineData("pci", VirtioTransportKind.Pci)]
    [InlineData("mmio", VirtioTransportKind.Mmio)]
    public void Transport_specs_parse(string spec, VirtioTransportKind kind) => Assert.Equal(kind, TransportSpec.Parse(spec));

    [Fact]
    public void Unknown_transport_is_a_usage_error() =>
        Assert.Contains("expected pci or mmio", Assert.Throws<UsageException>(() => TransportSpec.Parse("ccw")).Message);

    [Fact]
    public void A_disk_path_with_commas_is_expressible_in_the_json_object_form()
    {
        var c = VmConfigFile.Parse("vm.json", """{ "disks": [ { "path": "/images/a,b,ro.img", "readOnly": true } ] }""");
        Assert.Equal(new DiskConfig("/images/a,b,ro.img", ReadOnly: true), Assert.Single(c.Disks!));
    }
}
