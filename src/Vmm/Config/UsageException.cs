namespace Csvmm.Vmm.Config;

/// <summary>A command-line value (or the setting it came from) that cannot be used; exit code 64.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
