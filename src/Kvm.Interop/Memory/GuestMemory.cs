using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Csvmm.Host.Native;

namespace Csvmm.Host.Memory;

/// <summary>
/// Guest physical memory: a few non-overlapping regions, each backed by host memory. Every access
/// is bounds-checked against exactly one region (a range may not straddle two), so a guest-supplied
/// address can never reach host memory outside guest RAM. This type and Kvm.Interop hold all of
/// csvmm's unsafe code.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly GuestRegion[] _regions;
    private readonly bool _mapped;
    private GCHandle _pin;
    private bool _disposed;

    private GuestMemory(GuestRegion[] regions, bool mapped, GCHandle pin = default)
    {
        _regions = regions;
        _mapped = mapped;
        _pin = pin;
    }

    public IReadOnlyList<GuestRegion> Regions => _regions;

    public ulong TotalSize
    {
        get
        {
            ulong total = 0;
            foreach (var r in _regions) total += r.Size;
            return total;
        }
    }

    /// <summary>
    /// Anonymous private mappings with MAP_NORESERVE: host pages are only committed when the guest
    /// touches them. Regions must be page-aligned, sorted and non-overlapping.
    /// </summary>
    public static GuestMemory CreateAnonymous(ReadOnlySpan<(ulong GuestAddress, ulong Size)> ranges)
    {
        var regions = new GuestRegion[ranges.Length];
        ulong prevEnd = 0;
        for (int i = 0; i < ranges.Length; i++)
        {
            var (gpa, size) = ranges[i];
            if (size == 0 || (gpa & 0xFFF) != 0 || (size & 0xFFF) != 0)
                throw new ArgumentException($"guest region {i} is not page aligned or empty");
            if (i > 0 && gpa < prevEnd)
                throw new ArgumentException($"guest region {i} overlaps the previous one");
            nint host = Sys.Mmap(0, (nuint)size, Sys.PROT_READ | Sys.PROT_WRITE,
                Sys.MAP_PRIVATE | Sys.MAP_ANONYMOUS | Sys.MAP_NORESERVE, -1, 0);
            if (host == Sys.MAP_FAILED)
            {
                int errno = Sys.LastErrno;
                for (int j = 0; j < i; j++) Sys.Munmap(regions[j].HostAddress, (nuint)regions[j].Size);
                throw new SystemCallException($"mmap of {size >> 20} MiB guest memory", errno);
            }
            // No MADV_HUGEPAGE (Firecracker doesn't either): on the nested PVM host we test on,
            // guest RAM backed by transparent huge pages lost guest writes (fresh pages read back
            // as zeros after khugepaged/compaction moved them); see images/README.md.
            regions[i] = new GuestRegion(gpa, size, host);
            prevEnd = gpa + size;
        }
        return new GuestMemory(regions, mapped: true);
    }

    /// <summary>
    /// Guest memory from a snapshot's memory file: each region mapped MAP_PRIVATE from its offset in
    /// the file (regions back to back, in order). Copy-on-write: a restore reads only the pages
    /// the guest touches, writes stay in this process, and any number of VMs can start from one
    /// file. The file must hold exactly the regions' total size.
    /// </summary>
    public static GuestMemory MapFile(string path, ReadOnlySpan<(ulong GuestAddress, ulong Size)> ranges)
    {
        int errno = FileIo.TryOpen(path, readOnly: true, out var fd);
        if (errno != 0) throw new SystemCallException($"open of memory file {path}", errno);
        using (fd)
        {
            var regions = new GuestRegion[ranges.Length];
            ulong offset = 0;
            for (int i = 0; i < ranges.Length; i++)
            {
                var (gpa, size) = ranges[i];
                nint host = Sys.Mmap(0, (nuint)size, Sys.PROT_READ | Sys.PROT_WRITE,
                    Sys.MAP_PRIVATE | Sys.MAP_NORESERVE, fd!.Fd, (long)offset);
                if (host == Sys.MAP_FAILED)
                {
                    errno = Sys.LastErrno;
                    for (int j = 0; j < i; j++) Sys.Munmap(regions[j].HostAddress, (nuint)regions[j].Size);
                    throw new SystemCallException($"mmap of memory file {path}", errno);
                }
                regions[i] = new GuestRegion(gpa, size, host);
                offset += size;
            }
            return new GuestMemory(regions, mapped: true);
        }
    }

    /// <summary>
    /// Writes every region, in order, to <paramref name="file"/> (a snapshot's memory file). Pages
    /// that are all zeros are skipped, leaving holes: the file is sparse, and reads of a hole give
    /// zeros back, so mapping it restores the same memory.
    /// </summary>
    public void WriteTo(FileStream file)
    {
        const int Page = 4096;
        long start = file.Position;
        foreach (var r in _regions)
        {
            for (ulong done = 0; done < r.Size; done += Page)
            {
                var page = new ReadOnlySpan<byte>((void*)(r.HostAddress + (nint)done), Page);
                if (page.IndexOfAnyExcept((byte)0) < 0) file.Seek(Page, SeekOrigin.Current);
                else file.Write(page);
            }
        }
        file.SetLength(start + (long)TotalSize);
    }

    /// <summary>Guest memory over a managed array (pinned for the lifetime of this object). For tests.</summary>
    public static GuestMemory FromArray(byte[] array, ulong guestAddress = 0)
    {
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        var region = new GuestRegion(guestAddress, (ulong)array.Length, pin.AddrOfPinnedObject());
        return new GuestMemory([region], mapped: false, pin);
    }

    /// <summary>True when [gpa, gpa+length) lies wholly inside one region (no overflow).</summary>
    public bool IsValidRange(ulong gpa, ulong length) => TryTranslate(gpa, length, out _);

    /// <summary>Host address for [gpa, gpa+length), or false when any byte is outside guest RAM.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTranslate(ulong gpa, ulong length, out nint host)
    {
        foreach (ref readonly var r in _regions.AsSpan())
        {
            ulong off = gpa - r.GuestAddress;
            // Unsigned wrap makes gpa < base fail the first test; the second avoids gpa+length overflow.
            if (gpa >= r.GuestAddress && off < r.Size && length <= r.Size - off)
            {
                host = r.HostAddress + (nint)off;
                return true;
            }
        }
        host = 0;
        return false;
    }

    public nint Translate(ulong gpa, ulong length)
    {
        if (!TryTranslate(gpa, length, out nint host))
            throw new GuestMemoryException(gpa, length);
        return host;
    }

    public bool TryGetSpan(ulong gpa, int length, out Span<byte> span)
    {
        if (length >= 0 && TryTranslate(gpa, (ulong)length, out nint host))
        {
            span = new Span<byte>((void*)host, length);
            return true;
        }
        span = default;
        return false;
    }

    public Span<byte> GetSpan(ulong gpa, int length)
    {
        if (!TryGetSpan(gpa, length, out var span))
            throw new GuestMemoryException(gpa, (ulong)Math.Max(length, 0));
        return span;
    }

    /// <summary>A reference to a naturally aligned value in guest memory, for Volatile/Interlocked ring access.</summary>
    public ref T GetRef<T>(ulong gpa) where T : unmanaged
    {
        if ((gpa % (ulong)sizeof(T)) != 0)
            throw new GuestMemoryException(gpa, (ulong)sizeof(T), "is misaligned");
        return ref Unsafe.AsRef<T>((void*)Translate(gpa, (ulong)sizeof(T)));
    }

    public T Read<T>(ulong gpa) where T : unmanaged =>
        Unsafe.ReadUnaligned<T>((void*)Translate(gpa, (ulong)sizeof(T)));

    public void Write<T>(ulong gpa, T value) where T : unmanaged =>
        Unsafe.WriteUnaligned((void*)Translate(gpa, (ulong)sizeof(T)), value);

    public void Write(ulong gpa, ReadOnlySpan<byte> data) => data.CopyTo(GetSpan(gpa, data.Length));

    public void Read(ulong gpa, Span<byte> destination) => GetSpan(gpa, destination.Length).CopyTo(destination);

    public void Fill(ulong gpa, int length, byte value) => GetSpan(gpa, length).Fill(value);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_mapped)
            foreach (var r in _regions) Sys.Munmap(r.HostAddress, (nuint)r.Size);
        if (_pin.IsAllocated) _pin.Free();
    }
}
