using Csvmm.Devices.Virtio.Block;
using Csvmm.Kvm;
using Csvmm.Host.Native;
using Csvmm.Vmm.Boot;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>Maps stop reasons and exceptions to exit codes and one-line messages.</summary>
public static class ExitCodes
{
    public static ExitCode For(StopReason stop) => stop.Kind switch
    {
        StopKind.GuestReset => ExitCode.GuestShutdown,
        StopKind.GuestExitStatus => ExitCode.GuestShutdown,
        StopKind.GuestPanic => ExitCode.GuestPanic,
        StopKind.TripleFault or StopKind.SystemEvent => ExitCode.GuestTripleFault,
        StopKind.EmulationFailure or StopKind.FailEntry or StopKind.UnknownExit => ExitCode.GuestFault,
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
        ConfigException => (ExitCode.Config, e.Message),
        KvmUnavailableException k when k.Errno is Errno.EACCES or Errno.EPERM => (ExitCode.NoPermission, e.Message),
        KvmUnavailableException => (ExitCode.KvmUnavailable, e.Message),
        KvmException k => (ExitCode.HostError, $"KVM refused {k.Ioctl}: {Errno.Describe(k.Errno)} (errno {k.Errno})"),
        SystemCallException s => (ExitCode.HostError, e.Message),
        UnauthorizedAccessException => (ExitCode.NoPermission, e.Message),
        _ => (ExitCode.Software, $"internal error: {e.GetType().Name}: {e.Message}"),
    };
}
