using System.Diagnostics;
using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>Bad input gets one line on stderr and a documented exit code, never a stack trace.</summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly ScratchDir _scratch = new("badinput");

    public void Dispose() => _scratch.Dispose();

    private string Temp(string name, byte[] content) => _scratch.Write(name, content);

    private string SpinKernel() => _scratch.Write("spin.elf", TinyKernel.Spin());

    [Fact]
    public void Missing_kernel_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "/nonexistent/bzImage"], Limit), 66, "does not exist");

    [Fact]
    public void Kernel_that_is_not_a_bzimage_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Temp("notakernel", new byte[8192])], Limit), 65, "not a bzImage");

    [Fact]
    public void Kernel_that_is_a_directory_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", _scratch.Path], Limit), 65, "directory");

    [Fact]
    public void Missing_initrd_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", SpinKernel(), "--initrd", "/nonexistent/initrd"], Limit), 66, "initrd");

    [KvmFact]
    public void Memory_too_small_for_kernel_and_initrd_exits_78()
    {
        string k = SpinKernel();
        string initrd = Temp("big-initrd", new byte[24 << 20]);
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", k, "--initrd", initrd, "--memory", "40"], Limit), 78, "too small");
    }

    [Fact]
    public void Memory_below_the_minimum_is_a_usage_error() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--memory", "8"], Limit), 64, "--memory 8");

    [Fact]
    public void Memory_above_host_ram_is_a_usage_error() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--memory", "100000000"], Limit), 64, "host");

    [Fact]
    public void Zero_cpus_is_a_usage_error() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--cpus", "0"], Limit), 64, "--cpus 0");

    [Fact]
    public void Json_config_with_a_wrongly_typed_value_exits_65_naming_the_json_path() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--config", Temp("typed-config.json", "{ \"kernel\": \"k\", \"cpus\": \"two\" }"u8.ToArray())], Limit),
            65, "$.cpus must be an integer");

    [Fact]
    public void Json_config_that_cannot_be_read_exits_66()
    {
        string dir = Directory.CreateDirectory(_scratch.File("config-dir")).FullName;
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--config", dir], Limit), 66, dir);
    }

    [Fact]
    public void Unknown_option_is_a_usage_error() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--frobnicate"], Limit), 64, "frobnicate");

    [Fact]
    public void Missing_kernel_option_is_a_usage_error() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run"], Limit), 64, "--kernel");

    [Fact]
    public void Missing_kvm_device_exits_69() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", SpinKernel(), "--kvm-device", "/nonexistent/kvm"], Limit),
            69, "does not exist");

    [Fact]
    public void A_kvm_device_that_is_not_kvm_exits_69() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", SpinKernel(), "--kvm-device", "/dev/null"], Limit),
            69, "not a KVM device");

    /// <summary>
    /// csvmm run as nobody on a KVM device node only root may open: exit 77, never 69 ("KVM
    /// unavailable" is a different answer for a user to act on). The node is the test's own
    /// (mknod 10:232, mode 0600, the numbers of /dev/kvm in Documentation/admin-guide/devices.txt),
    /// so the precondition holds whatever the mode of this host's /dev/kvm.
    /// </summary>
    [KvmFact]
    public void Kvm_device_without_permission_exits_77()
    {
        Skip.If(Environment.UserName != "root", "needs root to create a device node and to run csvmm as nobody");
        Skip.IfNot(File.Exists("/usr/bin/setpriv"), "needs setpriv (util-linux) to run csvmm as nobody");
        string node = _scratch.File("kvm");
        var mknod = Process.Start("mknod", ["-m", "0600", node, "c", "10", "232"])!;
        mknod.WaitForExit();
        Skip.If(mknod.ExitCode != 0, $"mknod {node} c 10 232 failed (exit {mknod.ExitCode}): no root-only KVM node to test with");
        var version = CsvmmProcess.RunAsNobody(["--version"], Limit);
        Skip.If(version.ExitCode != 0, $"nobody cannot run csvmm here (exit {version.ExitCode}): {version.Stderr.Trim()}");

        // --timeout: should csvmm get the device after all, the spinning guest must not hang the test.
        var r = CsvmmProcess.RunAsNobody(["run", "--kernel", SpinKernel(), "--kvm-device", node, "--timeout", "5"], Limit);
        CliAssert.OneLine(r, 77, "permission");
    }

    [Fact]
    public void Help_goes_to_stdout_and_exits_0()
    {
        var r = CsvmmProcess.Run(["run", "--help"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--kernel", r.Stdout);
    }

    [Fact]
    public void Version_prints_one_line_and_exits_0()
    {
        var r = CsvmmProcess.Run(["--version"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^csvmm \d+\.\d+\.\d+\n$", r.Stdout);
    }
}
