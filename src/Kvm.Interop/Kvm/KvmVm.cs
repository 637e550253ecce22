using Csvmm.Host.Events;
using Csvmm.Host.Memory;
using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>A VM descriptor from KVM_CREATE_VM.</summary>
public sealed unsafe class KvmVm : KvmFd
{
    private int _xsaveSize = -1;
    private bool _hasXsave2;

    internal KvmVm(FileDescriptor fd, KvmSystem system) : base(fd) => System = system;

    public KvmSystem System { get; }

    /// <summary>Whether KVM has KVM_CAP_XSAVE2, so the image is read with KVM_GET_XSAVE2 (it may exceed 4096 bytes).</summary>
    public bool HasXsave2 => XsaveSize > 0 && _hasXsave2;

    /// <summary>
    /// Bytes of a vCPU's XSAVE image: KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on the VM (at least
    /// 4096, arch/x86/include/uapi/asm/kvm.h), 4096 with only KVM_CAP_XSAVE, 0 without XSAVE.
    /// </summary>
    public int XsaveSize
    {
        get
        {
            if (_xsaveSize < 0)
            {
                int xsave2 = CheckExtension(KvmCap.Xsave2);
                _hasXsave2 = xsave2 > 0;
                _xsaveSize = xsave2 > 0 ? xsave2 : CheckExtension(KvmCap.Xsave) > 0 ? KvmXsave.LegacySize : 0;
            }
            return _xsaveSize;
        }
    }

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

    /// <summary>KVM_GET_IRQCHIP for <paramref name="chipId"/> (<see cref="KvmIrqchip.PicMaster"/>, PicSlave, Ioapic).</summary>
    public KvmIrqchip GetIrqchip(uint chipId)
    {
        var chip = new KvmIrqchip { ChipId = chipId };
        IoctlRef(KvmIoctl.GetIrqchip, ref chip);
        return chip;
    }

    public void SetIrqchip(in KvmIrqchip chip) => IoctlSet(KvmIoctl.SetIrqchip, chip);
    public KvmPitState2 GetPit2() => IoctlGet<KvmPitState2>(KvmIoctl.GetPit2);
    public void SetPit2(in KvmPitState2 pit) => IoctlSet(KvmIoctl.SetPit2, pit);
    public KvmClockData GetClock() => IoctlGet<KvmClockData>(KvmIoctl.GetClock);
    public void SetClock(in KvmClockData clock) => IoctlSet(KvmIoctl.SetClock, clock);

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
        return new KvmVcpu(new FileDescriptor(fd), id, this, System.VcpuMmapSize);
    }
}
