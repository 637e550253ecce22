using Csvmm.Host.Events;

namespace Csvmm.Devices.Pci;

/// <summary>
/// A write inside a BAR that should not exit to the VMM: KVM signals <see cref="Event"/> instead
/// (a KVM ioeventfd at the BAR's address + <see cref="Offset"/>, matching <see cref="Length"/>
/// bytes and, when given, the value <see cref="Datamatch"/>). virtio-pci queue notifications.
/// </summary>
public readonly record struct PciDoorbell(ulong Offset, uint Length, ulong? Datamatch, EventFd Event);
