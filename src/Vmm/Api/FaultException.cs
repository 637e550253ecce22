namespace Csvmm.Vmm.Api;

/// <summary>
/// A refused API request; the message is the <c>fault_message</c> of the 400 response. When the
/// VM itself failed (InstanceStart, pause, ...), <see cref="Exception.InnerException"/> is what it
/// threw, so a config-file start can still map it to csvmm's exit code.
/// </summary>
public sealed class FaultException : Exception
{
    public FaultException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
