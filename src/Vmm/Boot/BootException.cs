namespace Csvmm.Vmm.Boot;

/// <summary>The kernel, initrd or memory size cannot be used; the message is the one line the user sees.</summary>
public sealed class BootException : Exception
{
    public BootException(string message) : base(message) { }
}
