namespace Csvmm.Vmm.Boot;

/// <summary>The kernel (or initrd) file is missing or unreadable — an input problem, not a format problem.</summary>
public sealed class KernelFileException : Exception
{
    public KernelFileException(string message) : base(message) { }
}
