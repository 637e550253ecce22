using Csvmm.Devices.Metrics;
using Csvmm.Devices.State;
using Csvmm.Devices.Virtio;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// A virtio device as the VM carries it: the name the guest gives it (vda, eth0), what backs it
/// and where it sits (for reports: path, TAP, MAC, transport, slot), the device and its counters,
/// its transport core (plus the transport's own counters: PCI config space, MSI-X), its thread,
/// and for virtio-mmio its window and GSI (they go on the kernel command line).
/// </summary>
public sealed record AttachedVirtioDevice(
    string GuestName,
    string Kind,
    IReadOnlyList<KeyValuePair<string, string>> Labels,
    IVirtioDevice Device,
    CounterSet DeviceCounters,
    VirtioTransportCore Transport,
    IReadOnlyList<CounterSet> TransportCounters,
    VirtioDeviceWorker Worker,
    (ulong Base, uint Gsi)? MmioWindow,
    ISnapshotDevice TransportState);
