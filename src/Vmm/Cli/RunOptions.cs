using CommandLine;

namespace Csvmm.Vmm.Cli;

/// <summary>Flags of <c>csvmm run</c>.</summary>
[Verb("run", isDefault: false, HelpText = "Boot a Linux kernel in a new microVM; the guest console is this terminal.")]
public sealed class RunOptions
{
    [Option("kernel", Required = true, MetaValue = "PATH", HelpText = "Linux bzImage (boot protocol 2.12+, 64-bit) or uncompressed ELF vmlinux.")]
    public string Kernel { get; set; } = "";

    [Option("initrd", MetaValue = "PATH", HelpText = "Initial ramdisk (an uncompressed cpio archive boots fastest).")]
    public string? Initrd { get; set; }

    [Option("cmdline", MetaValue = "STR", HelpText = "Extra kernel command-line options, appended to csvmm's defaults.")]
    public string? Cmdline { get; set; }

    [Option("memory", Default = 256, MetaValue = "MIB", HelpText = "Guest RAM in MiB (minimum 32).")]
    public int Memory { get; set; } = 256;

    [Option("cpus", Default = 1, MetaValue = "N", HelpText = "Number of vCPUs.")]
    public int Cpus { get; set; } = 1;

    [Option("disk", MetaValue = "PATH[,ro][,id=ID]", HelpText = "Raw disk image for virtio-blk; repeat for more (first is /dev/vda, the root).")]
    public IEnumerable<string> Disks { get; set; } = [];

    [Option("timeout", Default = 0.0, MetaValue = "SEC", HelpText = "Stop the guest after SEC seconds and exit 124 (0 = never).")]
    public double Timeout { get; set; }

    [Option("console", Default = "stdio", MetaValue = "stdio|file:PATH|none", HelpText = "Where the guest console goes.")]
    public string Console { get; set; } = "stdio";

    [Option("log-level", Default = "info", MetaValue = "LEVEL", HelpText = "Log level on stderr: trace, debug, info, warning, error, off.")]
    public string LogLevel { get; set; } = "info";

    [Option("kvm-device", Default = "/dev/kvm", MetaValue = "PATH", HelpText = "KVM device node (for testing).")]
    public string KvmDevice { get; set; } = "/dev/kvm";
}
