namespace Csvmm.Devices.Virtio;

/// <summary>
/// Where a transport's device runs: activation, reset and queue processing happen on this thread
/// in the order they were posted, so the device never needs a lock against the vCPUs.
/// </summary>
public interface IDeviceThread
{
    /// <summary>Runs <paramref name="work"/> on the device thread after everything posted before it.</summary>
    void Post(Action work);
}
