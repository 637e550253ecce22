using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// Rows of README's bad-input table that had only unit-level coverage (parsers, loaders): here the
/// whole csvmm process is run, so the exit code and the one-line message are what a user sees.
/// </summary>
[Collection(BootTest.Collection)]
public sealed class InputTableTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly ScratchDir _scratch = new("input");

    public void Dispose() => _scratch.Dispose();

    private string Temp(string name, string content) => _scratch.Write(name, System.Text.Encoding.UTF8.GetBytes(content));

    [Theory]
    [InlineData("a.img,bogus", "unknown option 'bogus'")]
    [InlineData(",ro", "missing path")]
    [InlineData("a.img,id=abcdefghijklmnopqrstu", "id must be 1-20 characters")]
    public void Bad_disk_spec_exits_64(string spec, string fragment) =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--disk", spec], Limit), 64, fragment);

    [Fact]
    public void Bad_console_spec_exits_64() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--console", "tty"], Limit), 64, "expected stdio, file:PATH or none");

    [Fact]
    public void More_cpus_than_csvmm_supports_exits_64() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", "k", "--cpus", "5000"], Limit), 64, "--cpus 5000");

    [Fact]
    public void Config_file_that_is_not_json_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--config", Temp("bad.json", """{ "kernel": "a", """)], Limit), 65, "is not valid JSON");

    [Fact]
    public void Config_file_with_an_unknown_setting_exits_65() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--config", Temp("typo.json", """{ "kernal": "a" }""")], Limit), 65, "$.kernal is not a known setting");

    [Fact]
    public void Missing_config_file_exits_66() =>
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--config", "/nonexistent/vm.json"], Limit), 66, "does not exist");

    [Fact]
    public void Truncated_elf_kernel_exits_65()
    {
        string path = _scratch.Write("truncated.elf", TinyKernel.PrintThenReset("x").AsSpan(0, 100).ToArray());
        CliAssert.OneLine(CsvmmProcess.Run(["run", "--kernel", path], Limit), 65, "ELF");
    }

    [KvmFact]
    [Trait(BootTest.TraitName, BootTest.TraitValue)]
    public void Guest_triple_fault_exits_81()
    {
        string k = _scratch.Write("triple.elf", TinyKernel.TripleFault());
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit);
        Assert.Equal(81, r.ExitCode);
        Assert.Contains("triple fault", r.Stderr);
    }
}
