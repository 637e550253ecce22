namespace Csvmm.Host.Native;

/// <summary>A TAP device that cannot be used; the message names the interface, the cause and what to do.</summary>
public sealed class TapException : Exception
{
    public TapException(TapErrorKind kind, string name, string message, int errno = 0)
        : base(message)
    {
        Kind = kind;
        Name = name;
        Errno = errno;
    }

    public TapErrorKind Kind { get; }

    /// <summary>The interface name as requested.</summary>
    public string Name { get; }

    /// <summary>The errno behind the failure, or 0.</summary>
    public int Errno { get; }
}
