using CommandLine;

namespace Csvmm.Vmm.Cli;

/// <summary>Flags of <c>csvmm run</c>.</summary>
[Verb("run", isDefault: false, HelpText = "Boot a Linux kernel in a new microVM; the guest console is this terminal.")]
public sealed class RunOptions
{
    [Option("config", MetaValue = "FILE", HelpText = "JSON file describing the VM (kernel, initrd, cmdline, memory, cpus, disks, ...); flags override it.")]
    public string? Config { get; set; }

    [Option("kernel", MetaValue = "PATH", HelpText = "Required (here or in --config). Linux bzImage (boot protocol 2.12+, 64-bit) or uncompressed ELF vmlinux.")]
    public string? Kernel { get; set; }

    [Option("initrd", MetaValue = "PATH", HelpText = "Initial ramdisk (an uncompressed cpio archive boots fastest).")]
    public string? Initrd { get; set; }

    [Option("cmdline", MetaValue = "STR", HelpText = "Extra kernel command-line options, appended to csvmm's defaults.")]
    public string? Cmdline { get; set; }

    [Option("memory", MetaValue = "MIB", HelpText = "Guest RAM in MiB (default 256, minimum 32).")]
    public int? Memory { get; set; }

    [Option("cpus", MetaValue = "N", HelpText = "Number of vCPUs (default 1).")]
    public int? Cpus { get; set; }

    [Option("disk", MetaValue = "PATH[,ro][,id=ID]", HelpText = "Raw disk image for virtio-blk; repeat for more (first is /dev/vda, the root).")]
    public IEnumerable<string> Disks { get; set; } = [];

    [Option("net", MetaValue = "tap=NAME[,mac=MAC]", HelpText = "virtio-net interface on a TAP device (created if missing); repeat for eth1, eth2, ...")]
    public IEnumerable<string> Nets { get; set; } = [];

    [Option("transport", MetaValue = "pci|mmio", HelpText = "How the guest finds its virtio devices: pci (default; virtio-pci with MSI-X) or mmio (virtio-mmio, declared on the kernel command line).")]
    public string? Transport { get; set; }

    [Option("snapshot-to", MetaValue = "DIR", HelpText = "When the guest asks (guest-control register 0xC), save a snapshot to DIR (vm.snap, vm.mem) and exit 0.")]
    public string? SnapshotTo { get; set; }

    [Option("timeout", MetaValue = "SEC", HelpText = "Stop the guest after SEC seconds and exit 124 (default 0 = never).")]
    public double? Timeout { get; set; }

    [Option("console", MetaValue = "stdio|file:PATH|none", HelpText = "Where the guest console goes (default stdio).")]
    public string? Console { get; set; }

    [Option("stats", MetaValue = "FILE", HelpText = "Write run statistics (exits by reason, device counters, boot time) as JSON at exit.")]
    public string? Stats { get; set; }

    [Option("log-level", MetaValue = "LEVEL", HelpText = "Log level on stderr: trace, debug, info (default), warning, error, off.")]
    public string? LogLevel { get; set; }

    [Option("kvm-device", Default = "/dev/kvm", MetaValue = "PATH", HelpText = "KVM device node (for testing).")]
    public string KvmDevice { get; set; } = "/dev/kvm";
}
