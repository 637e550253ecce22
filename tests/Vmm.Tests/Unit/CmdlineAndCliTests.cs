using Csvmm.Vmm.Config;
using Csvmm.Vmm.Boot;
using Csvmm.Vmm.Cli;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class CmdlineAndCliTests
{
    [Fact]
    public void Cmdline_declares_each_virtio_device_and_roots_on_the_first_disk()
    {
        string c = KernelCmdline.Build([(0xD0000000, 5), (0xD0001000, 6)], rootReadOnly: false, "csvmm.test=info");
        Assert.StartsWith(KernelCmdline.Base, c);
        Assert.Contains(" virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6", c);
        Assert.Contains(" root=/dev/vda rw", c);
        Assert.EndsWith(" csvmm.test=info", c);
    }

    [Fact]
    public void Read_only_root_disk_is_mounted_ro() =>
        Assert.Contains("root=/dev/vda ro", KernelCmdline.Build([(0xD0000000, 5)], rootReadOnly: true, null));

    [Fact]
    public void User_root_parameter_wins() =>
        Assert.DoesNotContain("/dev/vda", KernelCmdline.Build([(0xD0000000, 5)], false, "root=/dev/vdb"));

    [Fact]
    public void Root_detection_matches_whole_parameters_only() =>
        Assert.False(KernelCmdline.HasParameter("rootwait myroot=x", "root"));

    [Theory]
    [InlineData("a.img", "a.img", false, null)]
    [InlineData("a.img,ro", "a.img", true, null)]
    [InlineData("a.img,id=data,ro", "a.img", true, "data")]
    public void Disk_specs_parse(string spec, string path, bool ro, string? id)
    {
        var d = DiskSpec.Parse(spec);
        Assert.Equal(path, d.Path);
        Assert.Equal(ro, d.ReadOnly);
        Assert.Equal(id, d.Id);
    }

    [Theory]
    [InlineData(",ro")]
    [InlineData("a.img,bogus")]
    [InlineData("a.img,id=")]
    [InlineData("a.img,id=abcdefghijklmnopqrstu")]
    public void Bad_disk_specs_are_usage_errors(string spec) => Assert.Throws<UsageException>(() => DiskSpec.Parse(spec));

    [Theory]
    [InlineData("stdio", ConsoleKind.Stdio)]
    [InlineData("none", ConsoleKind.None)]
    [InlineData("file:/tmp/x", ConsoleKind.File)]
    public void Console_specs_parse(string spec, ConsoleKind kind) => Assert.Equal(kind, ConsoleSpec.Parse(spec).Kind);

    [Fact]
    public void Bad_console_spec_is_a_usage_error() => Assert.Throws<UsageException>(() => ConsoleSpec.Parse("tty"));
}
