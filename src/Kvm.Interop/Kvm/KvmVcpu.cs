using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>A vCPU descriptor plus its mmap'd kvm_run page.</summary>
public sealed unsafe class KvmVcpu : KvmFd
{
    private readonly nint _run;
    private readonly int _runSize;

    internal KvmVcpu(FileDescriptor fd, int id, int mmapSize) : base(fd)
    {
        Id = id;
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

    public KvmRegs GetRegs() { KvmRegs r = default; IoctlRef(KvmIoctl.GetRegs, ref r); return r; }
    public void SetRegs(in KvmRegs regs) { var r = regs; IoctlRef(KvmIoctl.SetRegs, ref r); }
    public KvmSregs GetSregs() { KvmSregs s = default; IoctlRef(KvmIoctl.GetSregs, ref s); return s; }
    public void SetSregs(in KvmSregs sregs) { var s = sregs; IoctlRef(KvmIoctl.SetSregs, ref s); }
    public KvmFpu GetFpu() { KvmFpu f = default; IoctlRef(KvmIoctl.GetFpu, ref f); return f; }
    public void SetFpu(in KvmFpu fpu) { var f = fpu; IoctlRef(KvmIoctl.SetFpu, ref f); }
    public KvmLapicState GetLapic() { KvmLapicState l = default; IoctlRef(KvmIoctl.GetLapic, ref l); return l; }
    public void SetLapic(in KvmLapicState lapic) { var l = lapic; IoctlRef(KvmIoctl.SetLapic, ref l); }
    public KvmMpState GetMpState() { KvmMpState m = default; IoctlRef(KvmIoctl.GetMpState, ref m); return m; }

    public void SetCpuid(ReadOnlySpan<KvmCpuidEntry2> entries)
    {
        int size = sizeof(KvmCpuid2Header) + entries.Length * sizeof(KvmCpuidEntry2);
        byte* buf = stackalloc byte[size];
        ((KvmCpuid2Header*)buf)->Nent = (uint)entries.Length;
        ((KvmCpuid2Header*)buf)->Padding = 0;
        entries.CopyTo(new Span<KvmCpuidEntry2>(buf + sizeof(KvmCpuid2Header), entries.Length));
        IoctlPtr(KvmIoctl.SetCpuid2, buf);
    }

    /// <summary>KVM_SET_MSRS; it stops at the first MSR KVM refuses, so a short count is an error naming it.</summary>
    public void SetMsrs(ReadOnlySpan<KvmMsrEntry> entries)
    {
        int size = sizeof(KvmMsrsHeader) + entries.Length * sizeof(KvmMsrEntry);
        byte* buf = stackalloc byte[size];
        ((KvmMsrsHeader*)buf)->Nmsrs = (uint)entries.Length;
        ((KvmMsrsHeader*)buf)->Pad = 0;
        entries.CopyTo(new Span<KvmMsrEntry>(buf + sizeof(KvmMsrsHeader), entries.Length));
        int written = IoctlPtr(KvmIoctl.SetMsrs, buf);
        if (written != entries.Length)
            throw new KvmException($"KVM_SET_MSRS (MSR 0x{entries[written].Index:x} refused)", Sys.EINVAL);
    }

    public override void Dispose()
    {
        Sys.Munmap(_run, (nuint)_runSize);
        base.Dispose();
    }
}
