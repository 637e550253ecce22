namespace Csvmm.Kvm;

/// <summary>
/// Typed view of the shared kvm_run area (include/uapi/linux/kvm.h). Offsets are those of
/// struct kvm_run on x86_64; the exit union starts at 32. Only the owning vCPU thread reads it,
/// except <see cref="ImmediateExit"/>, which a kicker writes.
/// </summary>
public sealed unsafe class KvmRunPage
{
    private readonly byte* _p;

    public const int OffsetImmediateExit = 1;
    public const int OffsetExitReason = 8;
    public const int OffsetExit = 32;
    public const int OffsetIoDirection = 32, OffsetIoSize = 33, OffsetIoPort = 34, OffsetIoCount = 36, OffsetIoDataOffset = 40;
    public const int OffsetMmioPhysAddr = 32, OffsetMmioData = 40, OffsetMmioLen = 48, OffsetMmioIsWrite = 52;
    public const int OffsetFailEntryReason = 32;
    public const int OffsetInternalSuberror = 32, OffsetInternalNdata = 36, OffsetInternalData = 40;
    // struct emulation_failure overlays struct internal for suberror KVM_INTERNAL_ERROR_EMULATION:
    // u64 flags, then u8 insn_size and u8 insn_bytes[15] (include/uapi/linux/kvm.h).
    public const int OffsetEmulationFlags = 40, OffsetEmulationInsnSize = 48, OffsetEmulationInsnBytes = 49;
    public const int EmulationInsnBytesMax = 15;
    public const uint InternalErrorEmulation = 1;
    public const ulong EmulationFlagInstructionBytes = 1;
    public const int OffsetSystemEventType = 32;
    public const int OffsetHardwareExitReason = 32;

    internal KvmRunPage(byte* p, int size)
    {
        _p = p;
        Size = size;
    }

    public int Size { get; }

    public bool ImmediateExit
    {
        get => Volatile.Read(ref _p[OffsetImmediateExit]) != 0;
        set => Volatile.Write(ref _p[OffsetImmediateExit], value ? (byte)1 : (byte)0);
    }

    public KvmExitReason ExitReason => (KvmExitReason)(*(uint*)(_p + OffsetExitReason));

    // KVM_EXIT_IO
    public bool IoIsOut => _p[OffsetIoDirection] == 1;
    public int IoSize => _p[OffsetIoSize];
    public ushort IoPort => *(ushort*)(_p + OffsetIoPort);
    public uint IoCount => *(uint*)(_p + OffsetIoCount);
    public ulong IoDataOffset => *(ulong*)(_p + OffsetIoDataOffset);

    /// <summary>The PIO data buffer: count × size bytes at data_offset, bounds-checked against the mapping.</summary>
    public Span<byte> IoData
    {
        get
        {
            ulong off = IoDataOffset;
            ulong len = (ulong)IoSize * IoCount;
            if (off > (ulong)Size || len > (ulong)Size - off)
                throw new InvalidOperationException($"kvm_run PIO data out of range (offset {off}, length {len})");
            return new Span<byte>(_p + off, (int)len);
        }
    }

    // KVM_EXIT_MMIO
    public ulong MmioPhysAddr => *(ulong*)(_p + OffsetMmioPhysAddr);
    public Span<byte> MmioData => new(_p + OffsetMmioData, Math.Min((int)MmioLen, 8));
    public uint MmioLen => *(uint*)(_p + OffsetMmioLen);
    public bool MmioIsWrite => _p[OffsetMmioIsWrite] != 0;

    // KVM_EXIT_FAIL_ENTRY
    public ulong FailEntryReason => *(ulong*)(_p + OffsetFailEntryReason);

    // KVM_EXIT_INTERNAL_ERROR
    public uint InternalSuberror => *(uint*)(_p + OffsetInternalSuberror);
    public uint InternalNdata => *(uint*)(_p + OffsetInternalNdata);
    public ReadOnlySpan<ulong> InternalData => new(_p + OffsetInternalData, (int)Math.Min(InternalNdata, 16u));

    /// <summary>
    /// For an emulation failure whose flags say the bytes are valid: the instruction bytes KVM
    /// fetched at RIP (at most 15); otherwise empty.
    /// </summary>
    public ReadOnlySpan<byte> EmulationInstructionBytes
    {
        get
        {
            // ndata counts u64 words of the overlay: flags + the 16-byte insn_size/insn_bytes block.
            if (InternalSuberror != InternalErrorEmulation || InternalNdata < 3) return default;
            if ((*(ulong*)(_p + OffsetEmulationFlags) & EmulationFlagInstructionBytes) == 0) return default;
            int size = Math.Min((int)_p[OffsetEmulationInsnSize], EmulationInsnBytesMax);
            return new ReadOnlySpan<byte>(_p + OffsetEmulationInsnBytes, size);
        }
    }

    // KVM_EXIT_SYSTEM_EVENT
    public uint SystemEventType => *(uint*)(_p + OffsetSystemEventType);

    // KVM_EXIT_UNKNOWN
    public ulong HardwareExitReason => *(ulong*)(_p + OffsetHardwareExitReason);
}
