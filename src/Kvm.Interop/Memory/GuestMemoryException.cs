namespace Csvmm.Host.Memory;

/// <summary>A guest-supplied address range that is not (wholly) guest RAM.</summary>
public sealed class GuestMemoryException : Exception
{
    public GuestMemoryException(ulong gpa, ulong length, string what = "is outside guest memory")
        : base($"guest range 0x{gpa:x}+0x{length:x} {what}")
    {
        Address = gpa;
        Length = length;
    }

    public ulong Address { get; }
    public ulong Length { get; }
}
