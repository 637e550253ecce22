using Csvmm.Devices.Metrics;
using Csvmm.Devices.Virtio;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// A virtio device as the VM carries it: the name the guest gives it (vda, eth0), what backs it
/// (for reports: path, TAP, MAC), the device and its counters, its transport, and its thread.
/// </summary>
public sealed record AttachedVirtioDevice(
    string GuestName,
    string Kind,
    IReadOnlyList<KeyValuePair<string, string>> Labels,
    IVirtioDevice Device,
    CounterSet DeviceCounters,
    VirtioTransportCore Transport,
    VirtioDeviceWorker Worker,
    ulong MmioBase,
    uint Gsi);
