namespace Csvmm.Vmm.Config;

/// <summary>Parses <c>--transport pci|mmio</c>.</summary>
public static class TransportSpec
{
    public static VirtioTransportKind Parse(string spec) =>
        TryParse(spec, out var kind) ? kind : throw new UsageException($"--transport '{spec}': expected pci or mmio");

    public static bool TryParse(string spec, out VirtioTransportKind kind)
    {
        kind = spec == "mmio" ? VirtioTransportKind.Mmio : VirtioTransportKind.Pci;
        return spec is "pci" or "mmio";
    }
}
