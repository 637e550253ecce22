namespace Csvmm.Vmm.Boot;

/// <summary>What kind of kernel file was given.</summary>
public enum KernelFormat
{
    BzImage,
    Elf,
}
