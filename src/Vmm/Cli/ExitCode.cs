namespace Csvmm.Vmm.Cli;

/// <summary>
/// csvmm's exit statuses (documented in README.md). A guest's own verdict (written to the
/// guest-control page) is passed through only in 0–63; csvmm's own codes sit at 64 and above
/// (sysexits.h-style), so a CI script can always tell "the guest said 124" (impossible: that guest
/// gets 79) from "the timeout fired" (124).
/// </summary>
public enum ExitCode
{
    /// <summary>The guest rebooted / reset through the i8042 (its normal way to stop).</summary>
    GuestShutdown = 0,
    /// <summary>The highest guest-reported status passed through unchanged.</summary>
    MaxGuestStatus = 63,
    /// <summary>Command-line usage error (unknown flag, bad value such as --cpus 0).</summary>
    Usage = 64,
    /// <summary>An input file has the wrong format (not a kernel, malformed config).</summary>
    BadInput = 65,
    /// <summary>An input file is missing or unreadable (kernel, initrd, disk, config).</summary>
    NoInput = 66,
    /// <summary>KVM is not usable: /dev/kvm missing, wrong API version or capability.</summary>
    KvmUnavailable = 69,
    /// <summary>Internal VMM error (a bug or an unexpected host failure).</summary>
    Software = 70,
    /// <summary>A host resource could not be set up (memory, TAP device, thread).</summary>
    HostError = 71,
    /// <summary>A disk's data could not be made durable: its fdatasync failed (at shutdown, or earlier and reported then).</summary>
    SyncFailed = 74,
    /// <summary>A resource is busy: disk image locked by another VMM, TAP held by another process.</summary>
    Busy = 75,
    /// <summary>Permission denied: /dev/kvm, a disk image, /dev/net/tun.</summary>
    NoPermission = 77,
    /// <summary>The configuration cannot work: memory too small for kernel + initrd, too many devices, vCPUs above KVM's limit.</summary>
    Config = 78,
    /// <summary>The guest reported a status above 63 through the guest-control page (statuses 64-255 belong to csvmm).</summary>
    GuestStatusOutOfRange = 79,
    /// <summary>The guest kernel panicked ("Kernel panic - not syncing" seen on the console before the reset).</summary>
    GuestPanic = 80,
    /// <summary>The guest triple-faulted (KVM_EXIT_SHUTDOWN) or asked KVM for a shutdown/crash event.</summary>
    GuestTripleFault = 81,
    /// <summary>KVM could not run the guest: emulation failure, failed VM entry, unknown exit.</summary>
    GuestFault = 82,
    /// <summary>A device thread failed; the VM was stopped rather than run on with a dead device.</summary>
    DeviceFailure = 83,
    /// <summary>A vCPU did not leave KVM_RUN when stopped; csvmm exited without unmapping guest memory.</summary>
    VcpuStuck = 84,
    /// <summary>--timeout expired before the guest stopped.</summary>
    Timeout = 124,
    /// <summary>Stopped by SIGINT (or the console escape Ctrl-A x).</summary>
    Interrupted = 130,
    /// <summary>Stopped by SIGTERM.</summary>
    Terminated = 143,
}
