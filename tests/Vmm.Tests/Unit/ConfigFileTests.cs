using Csvmm.Tests.Support;
using Csvmm.Vmm.Config;
using Csvmm.Vmm.Cli;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class ConfigFileTests : IDisposable
{
    private readonly ScratchDir _scratch = new("config");

    public void Dispose() => _scratch.Dispose();

    private string Write(string json) => _scratch.Write($"{Guid.NewGuid():N}.json", System.Text.Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Full_config_is_read_and_disks_take_both_forms()
    {
        var c = VmConfigFile.Parse("vm.json", """
            { "kernel": "bzImage", "initrd": "init.cpio", "cmdline": "quiet", "memory": 512, "cpus": 2,
              "disks": [ "root.img", { "path": "data.raw", "readOnly": true, "id": "data" } ],
              "timeout": 120, "console": "file:boot.log", "logLevel": "debug", "stats": "s.json" }
            """);
        Assert.Equal("bzImage", c.Kernel);
        Assert.Equal(512, c.Memory);
        Assert.Equal(2, c.Cpus);
        Assert.Equal([new DiskConfig("root.img"), new DiskConfig("data.raw", ReadOnly: true, Id: "data")], c.Disks);
        Assert.Equal(120, c.Timeout);
        Assert.Equal("file:boot.log", c.Console);
    }

    [Fact]
    public void Flags_override_the_config_file()
    {
        string path = Write("""{ "kernel": "a", "memory": 512, "cpus": 1, "disks": ["x.img"] }""");
        var run = CliApp.Resolve(new RunOptions { Config = path, Memory = 128, Disks = ["y.img,ro"] });
        Assert.Equal("a", run.KernelPath);
        Assert.Equal(128, run.MemoryMiB);
        Assert.Equal("y.img", run.Disks.Single().Path);
        Assert.True(run.Disks.Single().ReadOnly);
    }

    [Theory]
    [InlineData("""{ "memory": "lots" }""", "$.memory must be an integer")]
    [InlineData("""{ "disks": [ "a.img", { "readOnly": true } ] }""", "$.disks[1].path is missing")]
    [InlineData("""{ "disks": [ { "path": "a", "readOnly": "yes" } ] }""", "$.disks[0].readOnly must be true or false")]
    [InlineData("""{ "disks": "a.img" }""", "$.disks must be an array")]
    [InlineData("""{ "kernal": "typo" }""", "$.kernal is not a known setting")]
    [InlineData("""[ 1, 2 ]""", "$ must be a JSON object")]
    [InlineData("""{ "kernel": "a", """, "is not valid JSON")]
    public void Errors_point_at_the_json_path_that_is_wrong(string json, string message)
    {
        var e = Assert.Throws<ConfigFileException>(() => VmConfigFile.Parse("vm.json", json));
        Assert.Contains(message, e.Message);
        Assert.False(e.Missing);
    }

    [Fact]
    public void Missing_config_file_is_reported_as_missing()
    {
        var e = Assert.Throws<ConfigFileException>(() => VmConfigFile.Load("/nonexistent/vm.json"));
        Assert.True(e.Missing);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Kernel_is_required_from_flags_or_file() =>
        Assert.Throws<UsageException>(() => CliApp.Resolve(new RunOptions { Config = Write("""{ "memory": 64 }""") }));
}
