namespace Csvmm.Fuzz;

/// <summary>A target found the code under test breaking one of its guarantees: a crash for the fuzzer.</summary>
public sealed class FuzzInvariantException : Exception
{
    public FuzzInvariantException(string message) : base(message)
    {
    }
}
