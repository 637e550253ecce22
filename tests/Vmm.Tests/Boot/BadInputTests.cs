using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>Bad input gets one line on stderr and a documented exit code, never a stack trace.</summary>
public sealed class BadInputTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);


    private static string Temp(string name, byte[] content)
    {
        string dir = Path.Combine(Path.GetTempPath(), "csvmm-tests");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{name}-{Environment.ProcessId}");
        File.WriteAllBytes(path, content);
        return path;
    }

    [Fact]
    public void Missing_kernel_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "/nonexistent/bzImage"], Limit), 66, "does not exist");

    [Fact]
    public void Kernel_that_is_not_a_bzimage_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Temp("notakernel", new byte[8192])], Limit), 65, "not a bzImage");

    [Fact]
    public void Kernel_that_is_a_directory_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", Path.GetTempPath()], Limit), 65, "directory");

    [Fact]
    public void Missing_initrd_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", TinyKernel.WriteTemp(TinyKernel.Spin(), "k-initrd"), "--initrd", "/nonexistent/initrd"], Limit), 66, "initrd");

    [KvmFact]
    public void Memory_too_small_for_kernel_and_initrd_exits_78()
    {
        string k = TinyKernel.WriteTemp(TinyKernel.Spin(), "k-small");
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
        string dir = Path.Combine(Path.GetTempPath(), $"csvmm-config-dir-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
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
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", TinyKernel.WriteTemp(TinyKernel.Spin(), "k-nokvm"), "--kvm-device", "/nonexistent/kvm"], Limit),
            69, "does not exist");

    [Fact]
    public void A_kvm_device_that_is_not_kvm_exits_69() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", TinyKernel.WriteTemp(TinyKernel.Spin(), "k-null"), "--kvm-device", "/dev/null"], Limit),
            69, "not a KVM device");

    [KvmFact]
    public void Kvm_device_without_permission_exits_77()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
            return; // needs root to drop to an unprivileged user
        string k = TinyKernel.WriteTemp(TinyKernel.Spin(), "k-perm");
        File.SetUnixFileMode(k, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var psi = CsvmmProcess.StartInfo(["run", "--kernel", k]);
        // Re-run the same command as 'nobody': /dev/kvm is root-only here (crw-------).
        var args = new List<string> { "--reuid=65534", "--regid=65534", "--clear-groups", psi.FileName };
        args.AddRange(psi.ArgumentList);
        var r = RunAs(args);
        if (r.ExitCode == 69 || r.Stderr.Contains("cannot open") && r.Stderr.Contains("csvmm.dll"))
            return; // the build output is not readable by 'nobody' on this machine; nothing to check
        CliAssert.OneLine(r, 77, "permission");
    }

    private static CsvmmResult RunAs(List<string> args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("setpriv") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        psi.Environment["HOME"] = "/tmp";
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        string outp = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new CsvmmResult(p.ExitCode, outp, err, TimeSpan.Zero, false);
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
