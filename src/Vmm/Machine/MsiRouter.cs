using Csvmm.Devices.Pci;
using Csvmm.Host.Events;
using Csvmm.Kvm;
using Csvmm.Vmm.Arch.X86_64;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// MSI delivery through KVM: each vector gets a GSI of its own (from <see cref="Layout.FirstMsiGsi"/>)
/// with an irqfd, and a routing entry for its message once the guest programs it. KVM_SET_GSI_ROUTING
/// replaces the whole table, so every update re-sends KVM's default irqchip routes (GSI n → IOAPIC
/// pin n, and GSIs 0-15 → the PICs too; kvm_setup_default_irq_routing in virt/kvm/irqchip.c and
/// arch/x86/kvm/irq_comm.c) along with the current MSI routes. Updates happen when the guest
/// programs a vector; delivery is one eventfd write, with no ioctl and no VMM thread in the way.
/// </summary>
public sealed class MsiRouter : IMsiController, IDisposable
{
    private readonly KvmVm _vm;
    private readonly Lock _lock = new();
    private readonly List<Vector> _vectors = [];
    private uint _nextGsi = Layout.FirstMsiGsi;

    public MsiRouter(KvmVm vm) => _vm = vm;

    public IMsiVector CreateVector()
    {
        lock (_lock)
        {
            var v = new Vector(this, _nextGsi++);
            _vm.AssignIrqfd(v.Event, v.Gsi);
            _vectors.Add(v);
            return v;
        }
    }

    private void Publish()
    {
        var entries = new List<KvmIrqRoutingEntry>((int)Layout.IoApicPins + 16 + _vectors.Count);
        for (uint gsi = 0; gsi < Layout.IoApicPins; gsi++)
        {
            entries.Add(KvmIrqRoutingEntry.ToIrqchip(gsi, KvmIrqRoutingEntry.IrqchipIoapic, gsi));
            if (gsi < 16)
                entries.Add(KvmIrqRoutingEntry.ToIrqchip(gsi,
                    gsi < 8 ? KvmIrqRoutingEntry.IrqchipPicMaster : KvmIrqRoutingEntry.IrqchipPicSlave, gsi % 8));
        }
        foreach (var v in _vectors)
            if (v.Message is { } m) entries.Add(KvmIrqRoutingEntry.ToMsi(v.Gsi, m.Address, m.Data));
        _vm.SetGsiRouting(entries.ToArray());
    }

    public void Dispose()
    {
        foreach (var v in _vectors) v.Event.Dispose();
    }

    private sealed class Vector(MsiRouter router, uint gsi) : IMsiVector
    {
        public uint Gsi { get; } = gsi;
        public EventFd Event { get; } = new();
        public (ulong Address, uint Data)? Message { get; private set; }

        public void Route(ulong address, uint data)
        {
            lock (router._lock)
            {
                if (Message == (address, data)) return;
                Message = (address, data);
                router.Publish();
            }
        }

        public void Disable()
        {
            lock (router._lock)
            {
                if (Message is null) return;
                Message = null;
                router.Publish();
            }
        }

        public void Trigger() => Event.Signal();
    }
}
