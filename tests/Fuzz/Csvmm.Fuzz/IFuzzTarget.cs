namespace Csvmm.Fuzz;

/// <summary>
/// One fuzz target: runs a byte string through code under test. It catches only the exceptions that
/// code documents for bad input (e.g. <c>BootException</c>); anything else escaping — an
/// IndexOutOfRange, a NullReference, a <c>GuestMemoryException</c> (an access outside guest RAM), a
/// <see cref="FuzzInvariantException"/> — is a crash. Targets keep their big buffers between runs.
/// </summary>
public interface IFuzzTarget
{
    string Name { get; }

    /// <summary>What the input bytes mean, for the README of the corpus.</summary>
    string Description { get; }

    void Run(ReadOnlySpan<byte> data);
}
