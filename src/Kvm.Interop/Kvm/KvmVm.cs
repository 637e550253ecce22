using Csvmm.Host.Events;
using Csvmm.Host.Memory;
using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>A VM descriptor from KVM_CREATE_VM.</summary>
public sealed unsafe class KvmVm : KvmFd
{
    internal KvmVm(FileDescriptor fd, KvmSystem system) : base(fd) => System = system;

    public KvmSystem System { get; }

    public int CheckExtension(KvmCap cap) => IoctlValue(KvmIoctl.CheckExtension, (ulong)cap);

    public void SetTssAddress(ulong address) => IoctlValue(KvmIoctl.SetTssAddr, address);

    public void SetIdentityMapAddress(ulong address)
    {
        ulong a = address;
        IoctlPtr(KvmIoctl.SetIdentityMapAddr, &a);
    }

    public void CreateIrqchip() => IoctlValue(KvmIoctl.CreateIrqchip);

    public void CreatePit2(uint flags)
    {
        var cfg = new KvmPitConfig { Flags = flags };
        IoctlRef(KvmIoctl.CreatePit2, ref cfg);
    }

    public void SetUserMemoryRegion(uint slot, ulong guestPhysAddr, ulong size, nint hostAddress, uint flags = 0)
    {
        var region = new KvmUserspaceMemoryRegion
        {
            Slot = slot,
            Flags = flags,
            GuestPhysAddr = guestPhysAddr,
            MemorySize = size,
            UserspaceAddr = (ulong)hostAddress,
        };
        IoctlRef(KvmIoctl.SetUserMemoryRegion, ref region);
    }

    public void SetIrqLine(uint gsi, bool level)
    {
        var l = new KvmIrqLevel { Irq = gsi, Level = level ? 1u : 0u };
        IoctlRef(KvmIoctl.IrqLine, ref l);
    }

    /// <summary>KVM_IRQFD: a write to <paramref name="eventFd"/> pulses <paramref name="gsi"/> (edge).</summary>
    public void AssignIrqfd(EventFd eventFd, uint gsi)
    {
        var irqfd = new KvmIrqfd { Fd = (uint)eventFd.Fd, Gsi = gsi };
        IoctlRef(KvmIoctl.Irqfd, ref irqfd);
    }

    public void DeassignIrqfd(EventFd eventFd, uint gsi)
    {
        var irqfd = new KvmIrqfd { Fd = (uint)eventFd.Fd, Gsi = gsi, Flags = KvmIrqfd.FlagDeassign };
        IoctlRef(KvmIoctl.Irqfd, ref irqfd);
    }

    /// <summary>
    /// KVM_IOEVENTFD on an MMIO address: a guest store of exactly <paramref name="length"/> bytes
    /// (and <paramref name="datamatch"/>, if given) signals the eventfd without leaving the kernel.
    /// </summary>
    public void AssignIoeventfd(EventFd eventFd, ulong address, uint length, ulong? datamatch, bool pio = false)
    {
        var e = new KvmIoeventfd
        {
            Addr = address,
            Len = length,
            Fd = eventFd.Fd,
            Datamatch = datamatch ?? 0,
            Flags = (datamatch.HasValue ? KvmIoeventfd.FlagDatamatch : 0) | (pio ? KvmIoeventfd.FlagPio : 0),
        };
        IoctlRef(KvmIoctl.Ioeventfd, ref e);
    }

    public void DeassignIoeventfd(EventFd eventFd, ulong address, uint length, ulong? datamatch, bool pio = false)
    {
        var e = new KvmIoeventfd
        {
            Addr = address,
            Len = length,
            Fd = eventFd.Fd,
            Datamatch = datamatch ?? 0,
            Flags = KvmIoeventfd.FlagDeassign | (datamatch.HasValue ? KvmIoeventfd.FlagDatamatch : 0) | (pio ? KvmIoeventfd.FlagPio : 0),
        };
        IoctlRef(KvmIoctl.Ioeventfd, ref e);
    }

    /// <summary>
    /// KVM_SET_GSI_ROUTING: replaces the whole GSI routing table (the default irqchip routes too,
    /// so callers include them; Documentation/virt/kvm/api.rst).
    /// </summary>
    public void SetGsiRouting(ReadOnlySpan<KvmIrqRoutingEntry> entries)
    {
        int size = sizeof(KvmIrqRoutingHeader) + entries.Length * sizeof(KvmIrqRoutingEntry);
        byte[] buffer = new byte[size];
        fixed (byte* buf = buffer)
        {
            ((KvmIrqRoutingHeader*)buf)->Nr = (uint)entries.Length;
            ((KvmIrqRoutingHeader*)buf)->Flags = 0;
            entries.CopyTo(new Span<KvmIrqRoutingEntry>(buf + sizeof(KvmIrqRoutingHeader), entries.Length));
            IoctlPtr(KvmIoctl.SetGsiRouting, buf);
        }
    }

    public KvmVcpu CreateVcpu(int id)
    {
        int fd = IoctlValue(KvmIoctl.CreateVcpu, (ulong)id);
        return new KvmVcpu(new FileDescriptor(fd), id, System.VcpuMmapSize);
    }
}
