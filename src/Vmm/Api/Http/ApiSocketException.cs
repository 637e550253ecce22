namespace Csvmm.Vmm.Api.Http;

/// <summary>The API socket could not be bound (the path exists, or the directory is not writable).</summary>
public sealed class ApiSocketException : Exception
{
    public ApiSocketException(string message) : base(message)
    {
    }
}
