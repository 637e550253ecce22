namespace Csvmm.Vmm.Boot;

/// <summary>A loadable piece of the kernel: file bytes for a guest-physical address (+ zero fill).</summary>
public readonly record struct KernelSegment(ulong GuestAddress, long FileOffset, int FileSize, ulong MemorySize);
