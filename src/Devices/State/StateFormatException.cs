namespace Csvmm.Devices.State;

/// <summary>Device state in a snapshot that cannot be read back (truncated, or written by another layout).</summary>
public sealed class StateFormatException : Exception
{
    public StateFormatException(string message) : base(message) { }
}
