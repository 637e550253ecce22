namespace Csvmm.Kvm.State;

/// <summary>
/// A well-formed vCPU state that this host's KVM cannot take: captured on another CPU vendor or
/// with CPU features, XSAVE components, MSRs or a TSC rate this host lacks. Raised before any
/// state is written, so nothing is half-restored.
/// </summary>
public sealed class KvmStateMismatchException(string message) : Exception(message);
