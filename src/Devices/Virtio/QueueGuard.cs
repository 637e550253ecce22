namespace Csvmm.Devices.Virtio;

/// <summary>
/// Lets a transport take queues back from a device thread that may still be working on them. A
/// driver reset revokes the guard under its lock; the device publishes used entries and event
/// indices only under the same lock and only while not revoked. The lock is held for a few memory
/// writes, never across host I/O, so a vCPU resetting the device never waits for a disk.
/// </summary>
public sealed class QueueGuard
{
    /// <summary>A guard that is never revoked, for queues driven directly (tests, fuzzing).</summary>
    public static readonly QueueGuard Never = new();

    private volatile bool _revoked;

    public Lock Lock { get; } = new();

    public bool IsRevoked => _revoked;

    /// <summary>From now on nothing is written to the queues this guard protects.</summary>
    public void Revoke()
    {
        lock (Lock) _revoked = true;
    }
}
