using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>Disk images csvmm must refuse (or accept with a warning) before the guest starts.</summary>
public sealed class DiskInputTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string Kernel() => TinyKernel.WriteTemp(TinyKernel.PrintThenReset("ok\n"), "disk-kernel");

    private static string Image(string name, int size)
    {
        string dir = Path.Combine(Path.GetTempPath(), "csvmm-tests");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{name}-{Environment.ProcessId}");
        File.WriteAllBytes(path, new byte[size]);
        return path;
    }


    [Fact]
    public void Missing_disk_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", "/nonexistent/disk.img"], Limit), 66, "/nonexistent/disk.img");

    [Fact]
    public void Directory_as_disk_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", Path.GetTempPath()], Limit), 65, "directory");

    [Fact]
    public void Empty_disk_exits_78() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", Image("empty.img", 0)], Limit), 78, "empty.img");

    [KvmFact]
    public void Disk_whose_size_is_not_a_multiple_of_512_is_used_rounded_down_with_a_warning()
    {
        var r = CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", Image("odd.img", 4096 + 100), "--log-level", "warning"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("512", r.Stderr);
        Assert.Equal("ok\n", r.Stdout);
    }

    [KvmFact]
    public void Disk_locked_by_another_csvmm_exits_75()
    {
        string disk = Image("locked.img", 1 << 20);
        string spin = TinyKernel.WriteTemp(TinyKernel.Spin(), "disk-spin");
        using var first = new GuestSession(["run", "--kernel", spin, "--disk", disk, "--timeout", "60", "--log-level", "off"]);
        Thread.Sleep(TimeSpan.FromSeconds(3)); // let the first VMM open and lock the image
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", disk], Limit), 75, "locked.img");
        // A read-only user of the same image is refused too: the writer may change it underneath.
        Assert.Equal(75, CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", $"{disk},ro"], Limit).ExitCode);
    }

    [KvmFact]
    public void Read_only_disk_can_be_shared_by_two_vmms()
    {
        string disk = Image("shared-ro.img", 1 << 20);
        string spin = TinyKernel.WriteTemp(TinyKernel.Spin(), "disk-spin-ro");
        using var first = new GuestSession(["run", "--kernel", spin, "--disk", $"{disk},ro", "--timeout", "60", "--log-level", "off"]);
        Thread.Sleep(TimeSpan.FromSeconds(3));
        var r = CsvmmProcess.Run(["run", "--kernel", Kernel(), "--disk", $"{disk},ro", "--log-level", "off"], Limit);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }
}
