namespace Csvmm.Vmm.Api;

/// <summary>A <c>--config-file</c> that cannot be read, parsed or honoured; the message names the file and the key.</summary>
public sealed class FirecrackerConfigException : Exception
{
    public FirecrackerConfigException(string message, bool unreadable = false) : base(message) => Unreadable = unreadable;

    /// <summary>The file could not be read at all (missing, a directory, no permission).</summary>
    public bool Unreadable { get; }
}
