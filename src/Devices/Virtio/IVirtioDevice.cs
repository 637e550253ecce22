using Csvmm.Host.Memory;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// A virtio device, whatever transport carries it: it states its type, features, queues and
/// configuration space, and processes its queues once activated. The transport
/// (<see cref="VirtioTransportCore"/> behind virtio-mmio or virtio-pci) owns feature negotiation,
/// the status state machine and queue set-up (virtio 1.2 §2–3).
/// <para>
/// Threads: <see cref="Activate"/>, <see cref="Reset"/>, <see cref="ProcessQueue"/> and
/// <see cref="OnEvent"/> run on the device's own thread, one at a time, so they need no locks.
/// <see cref="ReadConfig"/> and <see cref="WriteConfig"/> run on vCPU threads: they must not block
/// and must be safe beside the device thread.
/// </para>
/// </summary>
public interface IVirtioDevice
{
    /// <summary>Virtio device ID (1 net, 2 block; virtio 1.2 §5).</summary>
    uint DeviceType { get; }

    /// <summary>Features offered to the driver, including transport bits such as VERSION_1.</summary>
    ulong OfferedFeatures { get; }

    /// <summary>Maximum size of each queue; the array length is the queue count.</summary>
    ReadOnlySpan<ushort> QueueMaxSizes { get; }

    /// <summary>Reads device configuration space at <paramref name="offset"/>; fills every byte of <paramref name="data"/>.</summary>
    void ReadConfig(ulong offset, Span<byte> data);

    void WriteConfig(ulong offset, ReadOnlySpan<byte> data);

    /// <summary>
    /// DRIVER_OK with every ready queue validated. <paramref name="queues"/> holds all queues (those
    /// the driver did not make ready are inactive). Throwing refuses activation (DEVICE_NEEDS_RESET).
    /// </summary>
    void Activate(GuestMemory memory, IReadOnlyList<Virtqueue> queues, ulong negotiatedFeatures, IVirtioInterrupt interrupt);

    /// <summary>Driver reset: drop all references to guest memory and queues; return to the initial state.</summary>
    void Reset();

    /// <summary>
    /// Handles a notification for queue <paramref name="queueIndex"/>. Returns true when it stopped
    /// with work left because its budget per call ran out (<see cref="QueueService.Budget"/>): the
    /// device thread calls again after serving its other queues and event sources.
    /// </summary>
    bool ProcessQueue(int queueIndex);

    /// <summary>
    /// Called on the device thread before a snapshot, between requests: hand back (or complete)
    /// any chain the device popped but did not finish, so the queue positions alone describe the
    /// device's progress.
    /// </summary>
    void Quiesce() { }

    /// <summary>File descriptors besides the queue notifications that the device thread watches for this device (e.g. a TAP).</summary>
    IReadOnlyList<DeviceEventSource> EventSources => [];

    /// <summary>Source <paramref name="source"/> of <see cref="EventSources"/> fired; returns a queue to process now, or -1.</summary>
    int OnEvent(int source, uint events) => -1;
}
