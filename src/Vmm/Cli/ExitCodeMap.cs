using Csvmm.Devices.Virtio.Block;
using Csvmm.Host.Native;
using Csvmm.Kvm;
using Csvmm.Vmm.Boot;
using Csvmm.Vmm.Config;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>Maps how a run ended, or why it could not start, to an exit code and a one-line message.</summary>
public static class ExitCodeMap
{
    /// <summary>
    /// The exit code of a finished run and the line to print (null = nothing to say). Precedence:
    /// a stuck vCPU (84), then a disk that could not be synced (74) — lost data is never hidden
    /// behind the guest's verdict — then the stop reason.
    /// </summary>
    public static (int Code, string? Message) For(RunOutcome outcome)
    {
        if (outcome.StuckVcpus.Count > 0)
            return ((int)ExitCode.VcpuStuck,
                $"vCPU {string.Join(", ", outcome.StuckVcpus)} did not leave KVM_RUN; exiting without unmapping guest memory");
        if (outcome.SyncFailures.Count > 0)
            return ((int)ExitCode.SyncFailed, string.Join("; ", outcome.SyncFailures.Select(f =>
                $"disk {f.Target}: fdatasync failed ({Errno.Describe(f.Errno)}): data the guest wrote may not be on the disk")));
        return For(outcome.Stop);
    }

    public static (int Code, string? Message) For(StopReason stop) => stop.Kind switch
    {
        StopKind.GuestReset => ((int)ExitCode.GuestShutdown, null),
        StopKind.SnapshotSaved => ((int)ExitCode.GuestShutdown, stop.Detail),
        StopKind.GuestExitStatus when stop.GuestStatus is >= 0 and <= (int)ExitCode.MaxGuestStatus => (stop.GuestStatus, null),
        StopKind.GuestExitStatus => ((int)ExitCode.GuestStatusOutOfRange,
            $"the guest reported status {stop.GuestStatus}; guest statuses must be 0-{(int)ExitCode.MaxGuestStatus} (64-255 are csvmm's own)"),
        _ => ((int)CodeFor(stop.Kind), stop.Detail),
    };

    public static ExitCode CodeFor(StopKind kind) => kind switch
    {
        StopKind.GuestReset or StopKind.SnapshotSaved => ExitCode.GuestShutdown,
        StopKind.GuestPanic => ExitCode.GuestPanic,
        StopKind.TripleFault or StopKind.SystemEvent => ExitCode.GuestTripleFault,
        StopKind.EmulationFailure or StopKind.FailEntry or StopKind.UnknownExit => ExitCode.GuestFault,
        StopKind.DeviceFailure => ExitCode.DeviceFailure,
        StopKind.Timeout => ExitCode.Timeout,
        StopKind.Interrupted => ExitCode.Interrupted,
        StopKind.Terminated => ExitCode.Terminated,
        _ => ExitCode.Software,
    };

    public static (ExitCode Code, string Message) ForException(Exception e) => e switch
    {
        UsageException => (ExitCode.Usage, e.Message),
        TapException t => (t.Kind switch
        {
            TapErrorKind.InvalidName => ExitCode.Usage,
            TapErrorKind.Busy => ExitCode.Busy,
            TapErrorKind.PermissionDenied => ExitCode.NoPermission,
            _ => ExitCode.HostError,
        }, e.Message),
        ConfigFileException c => (c.Missing ? ExitCode.NoInput : ExitCode.BadInput, e.Message),
        BlockBackendException b => (b.Kind switch
        {
            BlockBackendError.NotFound => ExitCode.NoInput,
            BlockBackendError.PermissionDenied => ExitCode.NoPermission,
            BlockBackendError.IsDirectory or BlockBackendError.NotAFile => ExitCode.BadInput,
            BlockBackendError.TooSmall => ExitCode.Config,
            BlockBackendError.InUse => ExitCode.Busy,
            _ => ExitCode.HostError,
        }, e.Message),
        KernelFileException => (ExitCode.NoInput, e.Message),
        BootException => (ExitCode.BadInput, e.Message),
        ConfigLimitException => (ExitCode.Config, e.Message),
        Snapshot.SnapshotException s => (s.Problem switch
        {
            Snapshot.SnapshotProblem.Missing => ExitCode.NoInput,
            Snapshot.SnapshotProblem.Mismatch => ExitCode.Config,
            _ => ExitCode.BadInput,
        }, e.Message),
        KvmUnavailableException k when k.Errno is Errno.EACCES or Errno.EPERM => (ExitCode.NoPermission, e.Message),
        KvmUnavailableException => (ExitCode.KvmUnavailable, e.Message),
        KvmException k => (ExitCode.HostError, $"KVM refused {k.Ioctl}: {Errno.Describe(k.Errno)} (errno {k.Errno})"),
        SystemCallException => (ExitCode.HostError, e.Message),
        UnauthorizedAccessException => (ExitCode.NoPermission, e.Message),
        _ => (ExitCode.Software, $"internal error: {e.GetType().Name}: {e.Message}"),
    };
}
