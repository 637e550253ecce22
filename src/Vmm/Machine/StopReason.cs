namespace Csvmm.Vmm.Machine;

/// <summary>Why a VM stopped; the first reason reported wins.</summary>
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
    VmmError,
}

public readonly record struct StopReason(StopKind Kind, int GuestStatus = 0, string Detail = "");
