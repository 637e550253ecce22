using Csvmm.Devices.Pci;

namespace Csvmm.Devices.Tests.Pci;

/// <summary>Maps BARs anywhere in [0xE0000000, 0xFEC00000) that no other BAR uses; records every call.</summary>
public sealed class FakeBarMapper : IPciBarMapper
{
    public List<string> Calls { get; } = [];
    public Dictionary<PciBar, ulong> Mapped { get; } = [];

    public bool TryMap(IPciFunction function, PciBar bar, ulong address)
    {
        bool ok = address >= 0xE0000000 && address + bar.Size <= 0xFEC00000
            && !Mapped.Any(m => m.Key != bar && address < m.Value + m.Key.Size && m.Value < address + bar.Size);
        Calls.Add($"{(ok ? "map" : "refuse")} {bar.Index} 0x{address:x}");
        if (ok) Mapped[bar] = address;
        return ok;
    }

    public void Unmap(IPciFunction function, PciBar bar)
    {
        Calls.Add($"unmap {bar.Index}");
        Mapped.Remove(bar);
    }
}
