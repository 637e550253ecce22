namespace Csvmm.Vmm.Machine;

/// <summary>Why a VM stopped, with the guest's status for <see cref="StopKind.GuestExitStatus"/> and a one-line detail.</summary>
public readonly record struct StopReason(StopKind Kind, int GuestStatus = 0, string Detail = "");
