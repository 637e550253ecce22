using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>A vCPU descriptor plus its mmap'd kvm_run page.</summary>
public sealed unsafe class KvmVcpu : KvmFd
{
    private readonly nint _run;
    private readonly int _runSize;

    /// <summary>KVM_SET_MSRS/KVM_GET_MSRS refuse 256 or more entries at once (MAX_IO_MSRS, arch/x86/kvm/x86.c msr_io).</summary>
    public const int MaxMsrsPerCall = 255;

    internal KvmVcpu(FileDescriptor fd, int id, KvmVm vm, int mmapSize) : base(fd)
    {
        Id = id;
        Vm = vm;
        _runSize = mmapSize;
        _run = Sys.Mmap(0, (nuint)mmapSize, Sys.PROT_READ | Sys.PROT_WRITE, Sys.MAP_SHARED, fd.Fd, 0);
        if (_run == Sys.MAP_FAILED)
        {
            int errno = Sys.LastErrno;
            fd.Dispose();
            throw new SystemCallException($"mmap of kvm_run for vCPU {id}", errno);
        }
        Run = new KvmRunPage((byte*)_run, mmapSize);
    }

    public int Id { get; }

    /// <summary>The VM this vCPU belongs to.</summary>
    public KvmVm Vm { get; }

    /// <summary>Bytes KVM_GET_XSAVE2/KVM_SET_XSAVE move for this VM, 0 when KVM has no XSAVE (then use the FPU ioctls).</summary>
    public int XsaveSize => Vm.XsaveSize;

    public KvmRunPage Run { get; }

    /// <summary>
    /// KVM_RUN once. Returns false when the call was interrupted (EINTR: a kick or
    /// immediate_exit), true when the guest exited with <see cref="KvmRunPage.ExitReason"/>.
    /// </summary>
    public bool RunOnce()
    {
        int r = Sys.Ioctl(Fd, KvmIoctl.Run, (nuint)0);
        if (r >= 0) return true;
        int errno = Sys.LastErrno;
        if (errno == Sys.EINTR || errno == Sys.EAGAIN) return false;
        throw new KvmException("KVM_RUN", errno);
    }

    /// <summary>
    /// Finishes the instruction behind the last PIO/MMIO exit without running the guest further:
    /// KVM_RUN with immediate_exit set. The state of such an instruction is consistent only after
    /// userspace re-entered KVM_RUN, and that pending part is in no state userspace can read
    /// (Documentation/virt/kvm/api.rst, the note under KVM_EXIT_IO/KVM_EXIT_MMIO), so a snapshot
    /// taken right after an exit would lose it. Call it on the vCPU's own thread once the exit was
    /// handled (an IN's data filled in); without a pending exit it only returns EINTR. The
    /// immediate_exit flag is left as it was (a pausing VMM may keep it set).
    /// </summary>
    public void CompletePendingExit()
    {
        bool was = Run.ImmediateExit;
        Run.ImmediateExit = true;
        try
        {
            if (RunOnce())
                throw new KvmException($"KVM_RUN with immediate_exit returned exit {Run.ExitReason} instead of EINTR", Sys.EINVAL);
        }
        finally
        {
            Run.ImmediateExit = was;
        }
    }

    public KvmRegs GetRegs() => IoctlGet<KvmRegs>(KvmIoctl.GetRegs);
    public void SetRegs(in KvmRegs regs) => IoctlSet(KvmIoctl.SetRegs, regs);
    public KvmSregs GetSregs() => IoctlGet<KvmSregs>(KvmIoctl.GetSregs);
    public void SetSregs(in KvmSregs sregs) => IoctlSet(KvmIoctl.SetSregs, sregs);
    public KvmFpu GetFpu() => IoctlGet<KvmFpu>(KvmIoctl.GetFpu);
    public void SetFpu(in KvmFpu fpu) => IoctlSet(KvmIoctl.SetFpu, fpu);
    public KvmLapicState GetLapic() => IoctlGet<KvmLapicState>(KvmIoctl.GetLapic);
    public void SetLapic(in KvmLapicState lapic) => IoctlSet(KvmIoctl.SetLapic, lapic);
    public KvmMpState GetMpState() => IoctlGet<KvmMpState>(KvmIoctl.GetMpState);
    public void SetMpState(in KvmMpState mpState) => IoctlSet(KvmIoctl.SetMpState, mpState);
    public KvmXcrs GetXcrs() => IoctlGet<KvmXcrs>(KvmIoctl.GetXcrs);
    public void SetXcrs(in KvmXcrs xcrs) => IoctlSet(KvmIoctl.SetXcrs, xcrs);
    public KvmDebugRegs GetDebugRegs() => IoctlGet<KvmDebugRegs>(KvmIoctl.GetDebugRegs);
    public void SetDebugRegs(in KvmDebugRegs debugRegs) => IoctlSet(KvmIoctl.SetDebugRegs, debugRegs);
    public KvmVcpuEvents GetVcpuEvents() => IoctlGet<KvmVcpuEvents>(KvmIoctl.GetVcpuEvents);
    public void SetVcpuEvents(in KvmVcpuEvents events) => IoctlSet(KvmIoctl.SetVcpuEvents, events);

    /// <summary>KVM_GET_TSC_KHZ: the guest TSC frequency of this vCPU.</summary>
    public uint GetTscKhz() => (uint)IoctlValue(KvmIoctl.GetTscKhz);

    /// <summary>KVM_SET_TSC_KHZ; without TSC scaling in hardware KVM accepts only (about) the host's own rate.</summary>
    public void SetTscKhz(uint khz) => IoctlValue(KvmIoctl.SetTscKhz, khz);

    /// <summary>
    /// KVM_KVMCLOCK_CTRL: tells the guest (through its kvmclock page) that it was stopped, so its
    /// soft-lockup watchdog does not count the pause. Returns false when KVM answers EINVAL
    /// because the guest has not enabled kvmclock (arch/x86/kvm/x86.c, kvm_set_guest_paused):
    /// nothing to tell then.
    /// </summary>
    public bool KvmclockCtrl()
    {
        int r = IoctlPtrOrErrno(KvmIoctl.KvmclockCtrl, null);
        if (r >= 0) return true;
        if (-r == Sys.EINVAL) return false;
        throw new KvmException("KVM_KVMCLOCK_CTRL", -r);
    }

    /// <summary>
    /// KVM_GET_XSAVE2 (or KVM_GET_XSAVE where KVM lacks KVM_CAP_XSAVE2): the XSAVE image,
    /// <see cref="XsaveSize"/> bytes.
    /// </summary>
    public byte[] GetXsave()
    {
        if (XsaveSize == 0) throw new InvalidOperationException("KVM on this host has no KVM_CAP_XSAVE: use GetFpu");
        var buffer = new byte[XsaveSize];
        fixed (byte* p = buffer) IoctlPtr(Vm.HasXsave2 ? KvmIoctl.GetXsave2 : KvmIoctl.GetXsave, p);
        return buffer;
    }

    /// <summary>
    /// KVM_SET_XSAVE. KVM copies <see cref="XsaveSize"/> bytes whatever the caller has
    /// (arch/x86/kvm/x86.c: memdup_user of guest_fpu.uabi_size), so a shorter image is passed
    /// zero-extended: the XSAVE header's XSTATE_BV says which components hold data, and KVM refuses
    /// (EINVAL) an image naming components this host does not support.
    /// </summary>
    public void SetXsave(ReadOnlySpan<byte> xsave)
    {
        if (XsaveSize == 0) throw new InvalidOperationException("KVM on this host has no KVM_CAP_XSAVE: use SetFpu");
        if (xsave.Length < KvmXsave.LegacySize)
            throw new ArgumentException($"an XSAVE image is at least {KvmXsave.LegacySize} bytes, got {xsave.Length}", nameof(xsave));
        var buffer = new byte[Math.Max(XsaveSize, xsave.Length)];
        xsave.CopyTo(buffer);
        fixed (byte* p = buffer) IoctlPtr(KvmIoctl.SetXsave, p);
    }

    /// <summary>The most CPUID entries KVM keeps for a vCPU (KVM_MAX_CPUID_ENTRIES, arch/x86/include/asm/kvm_host.h).</summary>
    public const int MaxCpuidEntries = 256;

    /// <summary>
    /// KVM_GET_CPUID2: the CPUID table set with <see cref="SetCpuid"/>, as KVM keeps it. KVM tells
    /// the caller nothing about the count (on success it leaves nent alone, on E2BIG it does not
    /// copy it back: arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_get_cpuid2 and its caller in x86.c), so
    /// the buffer has room for the maximum and the zeroed entries after the real ones are dropped;
    /// no real entry is all zero, since leaf 0's EAX is the highest leaf (Firecracker get_cpuid).
    /// </summary>
    public KvmCpuidEntry2[] GetCpuid()
    {
        var buffer = new byte[sizeof(KvmCpuid2Header) + MaxCpuidEntries * sizeof(KvmCpuidEntry2)];
        fixed (byte* p = buffer)
        {
            ((KvmCpuid2Header*)p)->Nent = MaxCpuidEntries;
            IoctlPtr(KvmIoctl.GetCpuid2, p);
            var entries = new ReadOnlySpan<KvmCpuidEntry2>(p + sizeof(KvmCpuid2Header), MaxCpuidEntries);
            int n = entries.Length;
            while (n > 0 && IsZero(entries[n - 1])) n--;
            return entries[..n].ToArray();
        }
    }

    private static bool IsZero(in KvmCpuidEntry2 e) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<KvmCpuidEntry2>(in e)).IndexOfAnyExcept((byte)0) < 0;

    public void SetCpuid(ReadOnlySpan<KvmCpuidEntry2> entries)
    {
        int size = sizeof(KvmCpuid2Header) + entries.Length * sizeof(KvmCpuidEntry2);
        byte* buf = stackalloc byte[size];
        ((KvmCpuid2Header*)buf)->Nent = (uint)entries.Length;
        ((KvmCpuid2Header*)buf)->Padding = 0;
        entries.CopyTo(new Span<KvmCpuidEntry2>(buf + sizeof(KvmCpuid2Header), entries.Length));
        IoctlPtr(KvmIoctl.SetCpuid2, buf);
    }

    /// <summary>
    /// KVM_GET_MSRS for each entry's <see cref="KvmMsrEntry.Index"/>, filling its Data. KVM stops
    /// at the first MSR it cannot read and returns how many it did, so the result is that count:
    /// less than <c>entries.Length</c> means <c>entries[result]</c> is not readable on this vCPU.
    /// </summary>
    public int GetMsrs(Span<KvmMsrEntry> entries) => MsrIo(KvmIoctl.GetMsrs, entries, entries);

    /// <summary>KVM_SET_MSRS; it stops at the first MSR KVM refuses, so a short count is an error naming it.</summary>
    public void SetMsrs(ReadOnlySpan<KvmMsrEntry> entries)
    {
        int written = MsrIo(KvmIoctl.SetMsrs, entries, default);
        if (written != entries.Length)
            throw new KvmException($"KVM_SET_MSRS (MSR 0x{entries[written].Index:x} refused)", Sys.EINVAL);
    }

    /// <summary>
    /// KVM_GET_MSRS/KVM_SET_MSRS in chunks of <see cref="MaxMsrsPerCall"/>; returns the count done
    /// before the first refusal. KVM's answers go to <paramref name="output"/> unless it is empty.
    /// </summary>
    private int MsrIo(uint request, ReadOnlySpan<KvmMsrEntry> entries, Span<KvmMsrEntry> output)
    {
        int chunkMax = Math.Min(entries.Length, MaxMsrsPerCall);
        int size = sizeof(KvmMsrsHeader) + chunkMax * sizeof(KvmMsrEntry);
        byte* buf = stackalloc byte[size];
        var header = (KvmMsrsHeader*)buf;
        var slots = new Span<KvmMsrEntry>(buf + sizeof(KvmMsrsHeader), chunkMax);
        int done = 0;
        while (done < entries.Length)
        {
            int n = Math.Min(entries.Length - done, MaxMsrsPerCall);
            header->Nmsrs = (uint)n;
            header->Pad = 0;
            entries.Slice(done, n).CopyTo(slots);
            int r = IoctlPtr(request, buf);
            if (!output.IsEmpty) slots[..r].CopyTo(output.Slice(done, r));
            done += r;
            if (r < n) break;
        }
        return done;
    }

    public override void Dispose()
    {
        Sys.Munmap(_run, (nuint)_runSize);
        base.Dispose();
    }
}
