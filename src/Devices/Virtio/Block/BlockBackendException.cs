namespace Csvmm.Devices.Virtio.Block;

/// <summary>A disk image that cannot be used; the message says which file, what is wrong and what to do.</summary>
public sealed class BlockBackendException : Exception
{
    public BlockBackendException(BlockBackendError kind, string path, string message, int errno = 0)
        : base(message)
    {
        Kind = kind;
        Path = path;
        Errno = errno;
    }

    public BlockBackendError Kind { get; }
    public string Path { get; }

    /// <summary>The errno behind the failure, or 0.</summary>
    public int Errno { get; }
}
