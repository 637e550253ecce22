using Microsoft.Win32.SafeHandles;

namespace Csvmm.Vmm.Boot;

/// <summary>
/// The bytes of a kernel or initrd file, read where they are needed — straight into guest memory
/// for the large parts — instead of being copied whole onto the managed heap first. A byte-array
/// source serves the fuzz targets and unit tests.
/// </summary>
public abstract class ImageSource : IDisposable
{
    protected ImageSource(string path, long length)
    {
        Path = path;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; a file that ends early is a <see cref="BootException"/>.</summary>
    public abstract void Read(long offset, Span<byte> destination);

    /// <summary>The first <paramref name="count"/> bytes (fewer if the file is shorter), for header parsing.</summary>
    public byte[] Head(int count)
    {
        var head = new byte[(int)Math.Min(count, Length)];
        Read(0, head);
        return head;
    }

    /// <summary>Opens <paramref name="path"/> for reading; <paramref name="what"/> ("kernel", "initrd") names it in errors.</summary>
    public static ImageSource Open(string path, string what)
    {
        try
        {
            if (Directory.Exists(path))
                throw new BootException($"{what} {path} is a directory, not a {what} image");
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return new FileSource(path, handle, RandomAccess.GetLength(handle));
        }
        catch (FileNotFoundException) { throw new KernelFileException($"{what} {path} does not exist"); }
        catch (DirectoryNotFoundException) { throw new KernelFileException($"{what} {path} does not exist"); }
        catch (UnauthorizedAccessException) { throw new KernelFileException($"{what} {path} is not readable (permission denied)"); }
        catch (IOException e) { throw new KernelFileException($"{what} {path} cannot be read: {e.Message}"); }
    }

    public static ImageSource FromBytes(string path, byte[] bytes) => new ArraySource(path, bytes);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    private sealed class FileSource(string path, SafeFileHandle handle, long length) : ImageSource(path, length)
    {
        public override void Read(long offset, Span<byte> destination)
        {
            while (!destination.IsEmpty)
            {
                int n;
                try { n = RandomAccess.Read(handle, destination, offset); }
                catch (IOException e) { throw new KernelFileException($"{Path} cannot be read: {e.Message}"); }
                if (n == 0) throw new BootException($"{Path} ended at {offset} bytes while being read (did it shrink?)");
                destination = destination[n..];
                offset += n;
            }
        }

        public override void Dispose()
        {
            handle.Dispose();
            base.Dispose();
        }
    }

    private sealed class ArraySource(string path, byte[] bytes) : ImageSource(path, bytes.Length)
    {
        public override void Read(long offset, Span<byte> destination)
        {
            if (offset < 0 || offset > bytes.Length || destination.Length > bytes.Length - offset)
                throw new BootException($"{Path} is shorter than its headers claim");
            bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);
        }
    }
}
