using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>Disk images csvmm must refuse (or accept with a warning) before the guest starts.</summary>
[Collection(BootTest.Collection)]
public sealed class DiskInputTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly ScratchDir _scratch = new("disk");

    public void Dispose() => _scratch.Dispose();

    private string Kernel() => _scratch.Write("ok.elf", TinyKernel.PrintThenReset("ok\n"));

    private string Image(string name, int size) => _scratch.Write(name, new byte[size]);

    /// <summary>
    /// A csvmm whose guest printed "running": csvmm opens and locks every disk before the guest
    /// starts, so from then on the image is held.
    /// </summary>
    private GuestSession RunningGuestWith(string diskSpec)
    {
        string spin = _scratch.Write("running.elf", TinyKernel.PrintThenSpin("running\n"));
        var guest = new GuestSession(["run", "--kernel", spin, "--disk", diskSpec, "--timeout", "60", "--log-level", "off"]);
        guest.WaitFor("running", Limit);
        return guest;
    }

    [Fact]
    public void Missing_disk_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", "/nonexistent/disk.img"], Limit), 66, "/nonexistent/disk.img");

    [Fact]
    public void Directory_as_disk_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", _scratch.Path], Limit), 65, "directory");

    [Fact]
    public void Empty_disk_exits_78() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", Image("empty.img", 0)], Limit), 78, "empty.img");

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void Disk_whose_size_is_not_a_multiple_of_512_is_used_rounded_down_with_a_warning()
    {
        var r = CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", Image("odd.img", 4096 + 100), "--log-level", "warning"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("512", r.Stderr);
        Assert.Equal("ok\n", r.Stdout);
    }

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void Disk_locked_by_another_csvmm_exits_75()
    {
        string disk = Image("locked.img", 1 << 20);
        using var first = RunningGuestWith(disk);
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", disk], Limit), 75, "locked.img");
        // A read-only user of the same image is refused too: the writer may change it underneath.
        Assert.Equal(75, CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", $"{disk},ro"], Limit).ExitCode);
    }

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void Read_only_disk_can_be_shared_by_two_vmms()
    {
        string disk = Image("shared-ro.img", 1 << 20);
        using var first = RunningGuestWith($"{disk},ro");
        var r = CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", $"{disk},ro", "--log-level", "off"], Limit);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }
}
