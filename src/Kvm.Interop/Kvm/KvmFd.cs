using Csvmm.Host.Native;

namespace Csvmm.Kvm;

/// <summary>Shared ioctl plumbing for the three KVM descriptor kinds.</summary>
public abstract unsafe class KvmFd : IDisposable
{
    protected KvmFd(FileDescriptor fd) => Handle = fd;

    public FileDescriptor Handle { get; }

    public int Fd => Handle.Fd;

    /// <summary>ioctl with an integer argument; returns the non-negative result or throws.</summary>
    protected int IoctlValue(uint request, ulong arg = 0)
    {
        while (true)
        {
            int r = Sys.Ioctl(Fd, request, (nuint)arg);
            if (r >= 0) return r;
            int errno = Sys.LastErrno;
            if (errno == Sys.EINTR) continue;
            throw new KvmException(KvmIoctl.Name(request), errno);
        }
    }

    /// <summary>ioctl with a pointer argument; returns the non-negative result or throws.</summary>
    protected int IoctlPtr(uint request, void* arg)
    {
        while (true)
        {
            int r = Sys.Ioctl(Fd, request, arg);
            if (r >= 0) return r;
            int errno = Sys.LastErrno;
            if (errno == Sys.EINTR) continue;
            throw new KvmException(KvmIoctl.Name(request), errno);
        }
    }

    protected int IoctlRef<T>(uint request, ref T arg) where T : unmanaged
    {
        fixed (T* p = &arg) return IoctlPtr(request, p);
    }

    public virtual void Dispose()
    {
        Handle.Dispose();
        GC.SuppressFinalize(this);
    }
}
