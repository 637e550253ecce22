using System.Security.Cryptography;
using System.Text.Json;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// A guest that attacks csvmm's PCI bus, BARs and MSI-X (<see cref="HostilePciKernel"/>) on real
/// KVM: csvmm must refuse every BAR placement over RAM or other devices, never route an MSI the
/// guest does not own, keep running, leave the disk untouched and exit with the guest's status.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class HostilePciGuestTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [KvmFact]
    public void Hostile_guest_scribbling_on_pci_config_space_bars_and_msix_cannot_crash_csvmm()
    {
        using var scratch = new ScratchDir("hostile-pci");
        string image = scratch.File("hostile-pci.img");
        string stats = scratch.File("hostile-pci.json");
        var bytes = new byte[1 << 20];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(image, bytes);
        byte[] before = SHA256.HashData(bytes);
        string k = scratch.Write("hostile-pci.elf", HostilePciKernel.Build());
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--disk", image, "--transport", "pci", "--log-level", "warning",
            "--stats", stats], Limit);

        Assert.False(r.TimedOut, $"csvmm did not finish; stderr:\n{r.Stderr}");
        Assert.Equal(HostilePciKernel.ExpectedExit, r.ExitCode);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image)));
        Assert.DoesNotContain("Unhandled", r.Stderr);

        using var json = JsonDocument.Parse(File.ReadAllText(stats));
        var blk = json.RootElement.GetProperty("blockDevices")[0];
        output.WriteLine(blk.ToString());
        Assert.Equal("00:01.0", blk.GetProperty("pciSlot").GetString());
        // RAM, the guest-control page, IOAPIC, LAPIC, across the window's end, the virtio-mmio
        // area, and the garbage patterns: each refused and counted.
        Assert.True(blk.GetProperty("refusedBarPlacements").GetInt64() >= 6);
        // Entries outside the LAPIC range and SMI delivery: never routed, nothing delivered.
        Assert.True(blk.GetProperty("refusedMessages").GetInt64() >= 2);
        Assert.Equal(0, blk.GetProperty("delivered").GetInt64());
        Assert.True(blk.GetProperty("invalidRegisterAccesses").GetInt64() > 0);
        Assert.Equal(0, blk.GetProperty("writeRequests").GetInt64());
    }
}
