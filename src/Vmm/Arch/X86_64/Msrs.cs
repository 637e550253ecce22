using Csvmm.Kvm;

namespace Csvmm.Vmm.Arch.X86_64;

/// <summary>MSR values at boot (the list Firecracker sets in arch/x86_64/msr.rs). Set after CPUID.</summary>
public static class Msrs
{
    public const uint SysenterCs = 0x174, SysenterEsp = 0x175, SysenterEip = 0x176;
    public const uint Star = 0xC0000081, Lstar = 0xC0000082, Cstar = 0xC0000083, SyscallMask = 0xC0000084;
    public const uint KernelGsBase = 0xC0000102;
    public const uint Tsc = 0x10;
    public const uint MiscEnable = 0x1A0;
    public const uint MtrrDefType = 0x2FF;

    private const ulong MiscEnableFastStrings = 1;
    /// <summary>MTRRs enabled (bit 11), default type write-back (6).</summary>
    private const ulong MtrrEnabledWriteBack = 0x806;

    public static KvmMsrEntry[] BootEntries() =>
    [
        new() { Index = SysenterCs },
        new() { Index = SysenterEsp },
        new() { Index = SysenterEip },
        new() { Index = Star },
        new() { Index = Cstar },
        new() { Index = KernelGsBase },
        new() { Index = SyscallMask },
        new() { Index = Lstar },
        new() { Index = Tsc },
        new() { Index = MiscEnable, Data = MiscEnableFastStrings },
        new() { Index = MtrrDefType, Data = MtrrEnabledWriteBack },
    ];
}
