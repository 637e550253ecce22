namespace Csvmm.Vmm.Machine;

/// <summary>Why a VM stopped; the first reason reported wins. Exit codes: <see cref="Cli.ExitCodeMap"/>.</summary>
public enum StopKind
{
    None,
    GuestReset,
    GuestPanic,
    GuestExitStatus,
    TripleFault,
    SystemEvent,
    EmulationFailure,
    FailEntry,
    UnknownExit,
    Timeout,
    Interrupted,
    Terminated,

    /// <summary>The guest asked for a snapshot and csvmm saved it (<c>--snapshot-to</c>).</summary>
    SnapshotSaved,

    /// <summary>A device thread failed (not a device: its thread); the guest would run on with a dead device.</summary>
    DeviceFailure,

    /// <summary>A vCPU thread failed with an exception.</summary>
    VmmError,
}
