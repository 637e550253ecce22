using Csvmm.Vmm.Api;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

public sealed class FirecrackerCommandLineTests
{
    private static FirecrackerOptions Options(params string[] args)
    {
        var result = FirecrackerCommandLine.Parse(args);
        Assert.Null(result.Error);
        return result.Options!;
    }

    private static string Error(params string[] args) => FirecrackerCommandLine.Parse(args).Error!;

    [Fact]
    public void Defaults_are_firecrackers()
    {
        var o = Options();
        Assert.Equal("/run/firecracker.socket", o.ApiSocket);
        Assert.Equal("anonymous-instance", o.InstanceId);
        Assert.Equal(51200, o.HttpApiMaxPayloadSize);
        Assert.False(o.NoApi);
        Assert.Null(o.ConfigFile);
    }

    [Fact]
    public void Kata_and_syzkaller_invocation_is_understood()
    {
        var o = Options("--api-sock", "/run/vc/fc.sock", "--config-file", "/run/vc/fcConfig.json");
        Assert.Equal(("/run/vc/fc.sock", "/run/vc/fcConfig.json"), (o.ApiSocket, o.ConfigFile));
    }

    [Fact]
    public void Flintlock_invocation_is_understood_and_boot_timer_is_accepted()
    {
        var o = Options("--id", "ns1-vm-01", "--boot-timer", "--no-api", "--config-file", "/var/lib/flintlock/vm/config.json");
        Assert.True(o.NoApi);
        Assert.True(o.BootTimer);
        Assert.Equal("ns1-vm-01", o.InstanceId);
        Assert.Equal(["--boot-timer"], o.IgnoredFlags);
    }

    [Fact]
    public void Logger_metrics_and_jailer_timing_flags_are_read()
    {
        var o = Options("--log-path", "/l", "--level", "Debug", "--show-level", "--show-log-origin", "--metrics-path", "/m",
            "--start-time-us", "12", "--start-time-cpu-us", "3", "--parent-cpu-time-us", "4", "--http-api-max-payload-size", "1000",
            "--module", "api_server", "--no-seccomp", "--", "ignored", "args");
        Assert.Equal(("/l", "Debug", true, true, "/m"), (o.LogPath, o.Level, o.ShowLevel, o.ShowLogOrigin, o.MetricsPath));
        Assert.Equal((12L, 3L, 4L), (o.StartTimeUs!.Value, o.StartTimeCpuUs!.Value, o.ParentCpuTimeUs!.Value));
        Assert.Equal(1000, o.HttpApiMaxPayloadSize);
        Assert.Equal(["--module", "--no-seccomp"], o.IgnoredFlags);
        Assert.Equal(["ignored", "args"], o.ExtraArgs);
    }

    [Theory]
    [InlineData("Found argument 'bogus' which wasn't expected, or isn't valid in this context.", "--bogus")]
    [InlineData("Found argument 'positional' which wasn't expected, or isn't valid in this context.", "positional")]
    [InlineData("The argument 'api-sock' requires a value, but none was supplied.", "--api-sock")]
    [InlineData("The argument 'api-sock' requires a value, but none was supplied.", "--api-sock", "--no-api")]
    [InlineData("The argument 'id' was provided more than once.", "--id", "a", "--id", "b")]
    [InlineData("Argument 'config-file' required, but not found.", "--no-api")]
    [InlineData("Invalid instance ID: Invalid char (_) at position 1", "--id", "a_b")]
    [InlineData("Invalid instance ID: Invalid len (65);  the length must be between 1 and 64", "--id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("Invalid value for logger level: loud. Possible values: [Error, Warning, Info, Debug]", "--level", "loud")]
    [InlineData("'start-time-us' parameter expected to be of 'u64' type.", "--start-time-us", "-5")]
    [InlineData("--seccomp-filter cannot be honoured: csvmm installs no seccomp filters, so it cannot apply this one.", "--seccomp-filter", "/f.bpf")]
    [InlineData("--metadata cannot be honoured: csvmm has no MMDS to load metadata into.", "--metadata", "/m.json")]
    [InlineData("--describe-snapshot cannot be honoured: csvmm's snapshots have csvmm's own format, tied to the csvmm version that wrote them.", "--describe-snapshot", "/s")]
    public void Bad_or_unhonourable_arguments_are_usage_errors(string message, params string[] args) =>
        Assert.Equal(message, Error(args));

    [Fact]
    public void Help_and_version_win_over_everything_else()
    {
        Assert.True(FirecrackerCommandLine.Parse(["--bogus", "--help"]).HelpRequested);
        Assert.True(FirecrackerCommandLine.Parse(["-h"]).HelpRequested);
        Assert.True(FirecrackerCommandLine.Parse(["--id", "x", "--version"]).VersionRequested);
        Assert.StartsWith($"Firecracker v{FirecrackerVersions.ApiVersion}\n", FirecrackerCommandLine.VersionText("0.1.0"));
        foreach (var (name, _, _) in FirecrackerCommandLine.Flags)
            Assert.Contains($"--{name}", FirecrackerCommandLine.Usage());
    }

    [Theory]
    [InlineData("/usr/local/bin/firecracker", new[] { "--api-sock", "/s" }, new[] { "--api-sock", "/s" })]
    [InlineData("firecracker", new string[0], new string[0])]
    [InlineData("/opt/csvmm/csvmm", new[] { "firecracker", "--no-api", "--config-file", "c" }, new[] { "--no-api", "--config-file", "c" })]
    public void Firecracker_mode_is_chosen_by_program_name_or_verb(string program, string[] args, string[] expected)
    {
        Assert.True(FirecrackerCommandLine.TryGetFirecrackerArguments(program, args, out var fcArgs));
        Assert.Equal(expected, fcArgs);
    }

    [Theory]
    [InlineData("/opt/csvmm/csvmm", new[] { "run", "--kernel", "k" })]
    [InlineData("/usr/bin/firecracker-helper", new[] { "--api-sock", "/s" })]
    [InlineData("csvmm", new string[0])]
    public void Csvmms_own_invocations_are_not_firecracker_mode(string program, string[] args) =>
        Assert.False(FirecrackerCommandLine.TryGetFirecrackerArguments(program, args, out _));

    [Fact]
    public void Enable_pci_selects_virtio_pci_and_its_absence_virtio_mmio()
    {
        Assert.True(FirecrackerCommandLine.Parse(["--enable-pci"]).Options!.EnablePci);
        Assert.False(FirecrackerCommandLine.Parse([]).Options!.EnablePci);
    }
}
