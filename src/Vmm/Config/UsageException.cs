namespace Csvmm.Vmm.Cli;

/// <summary>A command-line value that cannot be used; becomes exit code 64.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
