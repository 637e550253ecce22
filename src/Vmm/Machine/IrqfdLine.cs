using Csvmm.Host.Events;
using Csvmm.Devices;
using Csvmm.Kvm;

namespace Csvmm.Vmm.Machine;

/// <summary>An edge interrupt on a GSI through KVM_IRQFD: one eventfd write per pulse, no ioctl.</summary>
public sealed class IrqfdLine : IInterruptLine, IDisposable
{
    private readonly EventFd _eventFd = new();

    public IrqfdLine(KvmVm vm, uint gsi)
    {
        Gsi = gsi;
        vm.AssignIrqfd(_eventFd, gsi);
    }

    public uint Gsi { get; }

    public long Triggers => Interlocked.Read(ref _triggers);

    private long _triggers;

    public void Trigger()
    {
        Interlocked.Increment(ref _triggers);
        _eventFd.Signal();
    }

    public void Dispose() => _eventFd.Dispose();
}
