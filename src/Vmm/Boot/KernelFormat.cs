namespace Csvmm.Vmm.Boot;

/// <summary>What kind of kernel file was given, and so which boot protocol enters it.</summary>
public enum KernelFormat
{
    /// <summary>A bzImage, entered at its 64-bit entry (Linux boot protocol, boot_params in RSI).</summary>
    BzImage,

    /// <summary>A 64-bit ELF (vmlinux), entered at e_entry in long mode (boot_params in RSI).</summary>
    Elf,

    /// <summary>
    /// A 32-bit ELF with a PVH entry note, entered in 32-bit protected mode without paging with
    /// EBX = hvm_start_info (xen docs/misc/pvh.pandoc).
    /// </summary>
    Pvh,
}
