namespace Csvmm.Kvm.State;

/// <summary>
/// A serialized vCPU or VM state could not be read: truncated, altered, of another format
/// version, or inconsistent. The message is one line saying which and where.
/// </summary>
public sealed class KvmStateFormatException(string message) : Exception(message);
