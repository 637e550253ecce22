namespace Csvmm.Devices.State;

/// <summary>
/// A device whose state goes into a snapshot. <see cref="Save"/> is called with the VM paused
/// (vCPUs parked, device threads between requests); <see cref="Restore"/> on a freshly built
/// device of the same configuration, before anything runs.
/// </summary>
public interface ISnapshotDevice
{
    void Save(StateWriter w);

    void Restore(ref StateReader r);
}
