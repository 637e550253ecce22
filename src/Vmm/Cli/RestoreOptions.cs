using CommandLine;

namespace Csvmm.Vmm.Cli;

/// <summary>Flags of <c>csvmm restore</c>.</summary>
[Verb("restore", HelpText = "Start a VM from a snapshot saved with --snapshot-to; the guest runs on from where it asked for it.")]
public sealed class RestoreOptions
{
    [Option("from", Required = true, MetaValue = "DIR", HelpText = "The snapshot directory (vm.snap and vm.mem).")]
    public string From { get; set; } = "";

    [Option("disk", MetaValue = "PATH[,ro][,id=ID]", HelpText = "Disk images for the snapshot's disks, in order (default: the ones it was taken with); each must have the size the snapshot's had.")]
    public IEnumerable<string> Disks { get; set; } = [];

    [Option("net", MetaValue = "tap=NAME", HelpText = "TAP devices for the snapshot's interfaces, in order (default: the ones it was taken with); the guest keeps its MAC.")]
    public IEnumerable<string> Nets { get; set; } = [];

    [Option("snapshot-to", MetaValue = "DIR", HelpText = "Save a new snapshot to DIR when the guest asks again.")]
    public string? SnapshotTo { get; set; }

    [Option("timeout", MetaValue = "SEC", HelpText = "Stop the guest after SEC seconds and exit 124 (default 0 = never).")]
    public double? Timeout { get; set; }

    [Option("console", MetaValue = "stdio|file:PATH|none", HelpText = "Where the guest console goes (default stdio).")]
    public string? Console { get; set; }

    [Option("stats", MetaValue = "FILE", HelpText = "Write run statistics as JSON at exit.")]
    public string? Stats { get; set; }

    [Option("log-level", MetaValue = "LEVEL", HelpText = "Log level on stderr: trace, debug, info (default), warning, error, off.")]
    public string? LogLevel { get; set; }

    [Option("kvm-device", Default = "/dev/kvm", MetaValue = "PATH", HelpText = "KVM device node (for testing).")]
    public string KvmDevice { get; set; } = "/dev/kvm";
}
