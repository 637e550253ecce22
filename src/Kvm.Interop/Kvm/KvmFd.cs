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

    /// <summary>ioctl with a pointer argument; returns the non-negative result or -errno, for callers that act on an errno.</summary>
    protected int IoctlPtrOrErrno(uint request, void* arg)
    {
        while (true)
        {
            int r = Sys.Ioctl(Fd, request, arg);
            if (r >= 0) return r;
            int errno = Sys.LastErrno;
            if (errno != Sys.EINTR) return -errno;
        }
    }

    /// <summary>A "get" ioctl that fills one struct.</summary>
    protected T IoctlGet<T>(uint request) where T : unmanaged
    {
        T value = default;
        IoctlPtr(request, &value);
        return value;
    }

    /// <summary>A "set" ioctl that reads one struct; KVM does not write to it.</summary>
    protected void IoctlSet<T>(uint request, in T value) where T : unmanaged
    {
        fixed (T* p = &value) IoctlPtr(request, p);
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
