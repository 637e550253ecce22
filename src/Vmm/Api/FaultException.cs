namespace Csvmm.Vmm.Api;

/// <summary>A refused API request; the message is the <c>fault_message</c> of the 400 response.</summary>
public sealed class FaultException : Exception
{
    public FaultException(string message) : base(message)
    {
    }
}
