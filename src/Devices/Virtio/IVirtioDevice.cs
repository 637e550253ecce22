using Csvmm.Host.Memory;
using Csvmm.Kvm;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// A virtio device behind a transport: it states its type, features, queues and configuration space,
/// and processes its queues once activated. The transport owns the register state machine, feature
/// negotiation and queue configuration (REFERENCE 3), and serialises every call into the device.
/// </summary>
public interface IVirtioDevice
{
    /// <summary>Virtio device ID (1 net, 2 block).</summary>
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

    /// <summary>Handles a notification for queue <paramref name="queueIndex"/> (called on the I/O thread).</summary>
    void ProcessQueue(int queueIndex);
}
