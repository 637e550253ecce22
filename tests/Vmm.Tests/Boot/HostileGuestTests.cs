using System.Security.Cryptography;
using System.Text.Json;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// A guest that attacks its virtio-blk device (<see cref="HostileVirtioKernel"/>) on real KVM: csvmm
/// must log it, stop only that device, never crash, leave the image untouched and exit with the
/// status the guest reports.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class HostileGuestTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [KvmFact]
    public void Hostile_guest_scribbling_on_virtio_blk_cannot_crash_csvmm_or_change_the_disk()
    {
        using var scratch = new ScratchDir("hostile");
        string image = scratch.File("hostile.img");
        string stats = scratch.File("hostile.json");
        var bytes = new byte[1 << 20];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + (i >> 9));
        "SECTOR0!"u8.CopyTo(bytes);
        File.WriteAllBytes(image, bytes);
        byte[] before = SHA256.HashData(bytes);

        string k = scratch.Write("hostile.elf", HostileVirtioKernel.Build());
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--disk", image, "--transport", "mmio", "--log-level", "warning", "--stats", stats], Limit);

        Assert.False(r.TimedOut, $"csvmm did not finish; stderr:\n{r.Stderr}");
        // 44: the write with its data in the MMIO hole failed (IOERR) and the read succeeded.
        Assert.Equal(HostileVirtioKernel.ExpectedExit, r.ExitCode);
        Assert.Equal("SECTOR0!\n", r.Stdout);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(image)));

        // Each attack that makes the device unusable is logged, and the device asks for a reset.
        Assert.Contains("outside guest RAM", r.Stderr);
        Assert.Contains("more than the queue size", r.Stderr);
        Assert.Contains("has no device-writable status byte", r.Stderr);
        Assert.Contains("did not enable the request queue", r.Stderr);
        Assert.Contains("needs reset", r.Stderr);
        Assert.DoesNotContain("Unhandled", r.Stderr);

        using var json = JsonDocument.Parse(File.ReadAllText(stats));
        var blk = json.RootElement.GetProperty("blockDevices")[0];
        Assert.Equal(0, blk.GetProperty("bytesWritten").GetInt64());
        Assert.Equal(0, blk.GetProperty("writeRequests").GetInt64()); // the bad write was refused before it ran
        Assert.Equal(1, blk.GetProperty("readRequests").GetInt64());
        Assert.Equal(1, blk.GetProperty("ioErrors").GetInt64());
        Assert.Equal(1, blk.GetProperty("missingStatus").GetInt64());
        Assert.True(blk.GetProperty("invalidRegisterAccesses").GetInt64() > 100);
        var queue = blk.GetProperty("queues")[0];
        // Queue stops: the corrupt avail.idx, and the chain with no status byte to fail.
        Assert.Equal(2, queue.GetProperty("ringErrors").GetInt64());
        Assert.Equal(2, queue.GetProperty("badChains").GetInt64());
        Assert.Equal(1, queue.GetProperty("requests").GetInt64());
    }
}
