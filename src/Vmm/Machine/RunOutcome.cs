namespace Csvmm.Vmm.Machine;

/// <summary>How a run ended: the stop reason, disks whose final sync failed, and whether teardown was safe.</summary>
public sealed record RunOutcome(StopReason Stop, IReadOnlyList<SyncFailure> SyncFailures, IReadOnlyList<int> StuckVcpus,
    IReadOnlyList<string> StuckDeviceThreads)
{
    /// <summary>Every vCPU and device thread is known to be finished: guest RAM may be unmapped.</summary>
    public bool SafeToTearDown => StuckVcpus.Count == 0 && StuckDeviceThreads.Count == 0;
}
