namespace Csvmm.Devices.Virtio;

/// <summary>A device whose completed writes must reach stable storage before the VMM exits.</summary>
public interface IDurableDevice
{
    /// <summary>What is synced, for messages (an image path).</summary>
    string DurableTarget { get; }

    /// <summary>Makes every completed write durable: 0, or the errno of this or an earlier failed sync (failures are sticky).</summary>
    int SyncBackend();
}
