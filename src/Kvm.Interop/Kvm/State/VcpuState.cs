namespace Csvmm.Kvm.State;

/// <summary>
/// Everything KVM keeps for one x86-64 vCPU that a snapshot needs: CPUID, TSC rate, MP state,
/// registers, special registers, XSAVE (or the FPU where KVM has no XSAVE), XCRs, debug
/// registers, local APIC, the saveable MSRs, and pending events. <see cref="Capture(KvmVcpu)"/>
/// and <see cref="Restore"/> make the KVM calls in the order the kernel needs; the reasons follow
/// Firecracker (src/vmm/src/arch/x86_64/vcpu.rs, save_state/restore_state) and Cloud Hypervisor
/// (hypervisor/src/kvm/mod.rs, state/set_state), which document the same constraints from
/// arch/x86/kvm/x86.c. Every vCPU of the VM must be out of KVM_RUN while any of them is captured
/// or restored: KVM_GET/SET_VCPU_EVENTS are unsafe while other vCPUs run (same sources).
/// </summary>
public sealed record VcpuState
{
    /// <summary>The serialized format this csvmm writes and reads; see <see cref="Serialize"/>.</summary>
    public const ushort FormatVersion = 1;

    public const uint MsrIa32Tsc = 0x10;
    public const uint MsrIa32TscDeadline = 0x6E0;

    /// <summary>"CVCP" (csvmm vCPU) as a little-endian u32.</summary>
    private const uint Magic = 0x50435643;
    private const int MaxCpuidEntries = 256;
    private const int MaxMsrs = 4096;
    private const int MaxXsaveBytes = 1 << 20;

    public required int VcpuId { get; init; }
    public required KvmCpuidEntry2[] Cpuid { get; init; }
    /// <summary>The guest TSC rate (KVM_GET_TSC_KHZ), or null where KVM cannot tell it.</summary>
    public uint? TscKhz { get; init; }
    public required KvmMpState MpState { get; init; }
    public required KvmRegs Regs { get; init; }
    public required KvmSregs Sregs { get; init; }
    /// <summary>The XSAVE image (KVM_GET_XSAVE2); null where KVM has no XSAVE, and then <see cref="Fpu"/> is set.</summary>
    public byte[]? Xsave { get; init; }
    public KvmFpu? Fpu { get; init; }
    /// <summary>XCR0 and friends; null where KVM lacks KVM_CAP_XCRS.</summary>
    public KvmXcrs? Xcrs { get; init; }
    public required KvmDebugRegs DebugRegs { get; init; }
    public required KvmLapicState Lapic { get; init; }
    /// <summary>The MSRs read, in KVM's list order.</summary>
    public required KvmMsrEntry[] Msrs { get; init; }
    public required KvmVcpuEvents Events { get; init; }

    /// <summary>
    /// MSRs KVM lists as saveable but this vCPU refused to read (KVM gates many on the guest's
    /// CPUID, e.g. PMU counters); they hold no guest state. Not serialized: for diagnostics.
    /// </summary>
    public IReadOnlyList<uint> UnreadableMsrs { get; init; } = [];

    /// <summary>Captures <paramref name="vcpu"/> with the MSRs KVM_GET_MSR_INDEX_LIST names.</summary>
    public static VcpuState Capture(KvmVcpu vcpu) => Capture(vcpu, vcpu.Vm.System.MsrIndexList);

    /// <summary>
    /// Captures <paramref name="vcpu"/>, which must not be in KVM_RUN (nor any other vCPU of its
    /// VM). It first completes an instruction left pending by the last PIO/MMIO exit
    /// (<see cref="KvmVcpu.CompletePendingExit"/>): that exit must have been handled already.
    /// </summary>
    public static VcpuState Capture(KvmVcpu vcpu, IReadOnlyList<uint> msrIndices)
    {
        var vm = vcpu.Vm;
        vcpu.CompletePendingExit();

        // KVM_GET_MP_STATE first: it runs kvm_apic_accept_events(), which may change vCPU and
        // LAPIC state, so everything else is read after it (Firecracker save_state).
        var mpState = vcpu.GetMpState();
        var regs = vcpu.GetRegs();
        var sregs = vcpu.GetSregs();
        byte[]? xsave = vcpu.XsaveSize > 0 ? vcpu.GetXsave() : null;
        KvmFpu? fpu = xsave is null ? vcpu.GetFpu() : null;
        KvmXcrs? xcrs = vm.CheckExtension(KvmCap.Xcrs) > 0 ? vcpu.GetXcrs() : null;
        var debugRegs = vcpu.GetDebugRegs();
        // KVM_GET_LAPIC may update the LAPIC (e.g. the current timer count) before returning it.
        var lapic = vcpu.GetLapic();
        uint? tscKhz = vm.CheckExtension(KvmCap.GetTscKhz) > 0 ? vcpu.GetTscKhz() : null;
        var cpuid = vcpu.GetCpuid();
        var (msrs, unreadable) = ReadMsrs(vcpu, msrIndices);
        // KVM_GET_VCPU_EVENTS last: the GET ioctls above may move state between "pending" and
        // what they report (process_nmi, SMI processing), and events must reflect the final word.
        var events = vcpu.GetVcpuEvents();

        return new VcpuState
        {
            VcpuId = vcpu.Id, Cpuid = cpuid, TscKhz = tscKhz, MpState = mpState, Regs = regs, Sregs = sregs,
            Xsave = xsave, Fpu = fpu, Xcrs = xcrs, DebugRegs = debugRegs, Lapic = lapic, Msrs = msrs,
            Events = events, UnreadableMsrs = unreadable,
        };
    }

    /// <summary>
    /// Reads every listed MSR the vCPU will give. KVM_GET_MSRS stops at the first it refuses and
    /// reports the count read, so the read resumes after the refused one (Cloud Hypervisor state()).
    /// </summary>
    private static (KvmMsrEntry[] Msrs, uint[] Unreadable) ReadMsrs(KvmVcpu vcpu, IReadOnlyList<uint> indices)
    {
        var entries = new KvmMsrEntry[indices.Count];
        for (int i = 0; i < entries.Length; i++) entries[i].Index = indices[i];
        var read = new List<KvmMsrEntry>(entries.Length);
        var unreadable = new List<uint>();
        int start = 0;
        while (start < entries.Length)
        {
            int n = vcpu.GetMsrs(entries.AsSpan(start));
            read.AddRange(entries.AsSpan(start, n));
            if (start + n < entries.Length) unreadable.Add(entries[start + n].Index);
            start += n + 1;
        }
        return (read.ToArray(), unreadable.ToArray());
    }

    /// <summary>
    /// Checks, without writing anything, that <paramref name="vcpu"/>'s host can take this state:
    /// same CPU vendor, no CPUID feature, XSAVE component or XCR0 bit the host's KVM lacks, every
    /// MSR in its KVM_GET_MSR_INDEX_LIST, a TSC rate it can run. Call it for every vCPU before
    /// restoring any, so a foreign snapshot is refused whole. Throws <see cref="KvmStateMismatchException"/>.
    /// </summary>
    public void CheckRestorable(KvmVcpu vcpu)
    {
        if (vcpu.Id != VcpuId)
            throw new ArgumentException($"the state of vCPU {VcpuId} cannot be restored into vCPU {vcpu.Id}", nameof(vcpu));
        HostCompatibility.Check(this, vcpu);
    }

    /// <summary>
    /// Writes this state into <paramref name="vcpu"/>: a vCPU of a fresh VM (created, with the
    /// in-kernel irqchip, never run), the same id as the captured one. It runs
    /// <see cref="CheckRestorable"/> first. Restore every vCPU first, then
    /// <see cref="VmState.Restore"/>. Throws <see cref="KvmException"/> naming the ioctl (or the
    /// MSR) KVM refused; the vCPU is then unusable and the VM is to be discarded.
    /// </summary>
    public void Restore(KvmVcpu vcpu)
    {
        CheckRestorable(vcpu);
        var vm = vcpu.Vm;

        // The TSC rate before anything that involves the TSC: KVM converts the MSR_IA32_TSC value
        // written below at the vCPU's rate (Firecracker scales every vCPU in builder.rs before
        // restore_state; Cloud Hypervisor sets it before its MSRs). Only when it differs, because
        // without TSC scaling KVM refuses a slower rate and emulates a faster one by catching the
        // guest TSC up in software (arch/x86/kvm/x86.c, set_tsc_khz).
        if (TscKhz is uint khz && vm.CheckExtension(KvmCap.GetTscKhz) > 0 && HostCompatibility.TscDiffers(vcpu.GetTscKhz(), khz))
            vcpu.SetTscKhz(khz);
        // CPUID early: KVM checks MSR writes against the guest's CPUID (e.g. TSC_DEADLINE needs its
        // CPUID bit), and MP-state handling depends on what CPUID and kvm_vcpu_is_bsp() say.
        vcpu.SetCpuid(Cpuid);
        vcpu.SetMpState(MpState);
        // KVM_SET_REGS clears pending exceptions, so it precedes KVM_SET_VCPU_EVENTS, which restores them.
        vcpu.SetRegs(Regs);
        // KVM_SET_SREGS carries the APIC base MSR, so it precedes KVM_SET_LAPIC.
        vcpu.SetSregs(Sregs);
        if (Xsave is not null) vcpu.SetXsave(Xsave);
        else vcpu.SetFpu(Fpu ?? throw new InvalidOperationException("a vCPU state has either an XSAVE image or FPU state"));
        if (Xcrs is KvmXcrs x) vcpu.SetXcrs(x);
        vcpu.SetDebugRegs(DebugRegs);
        // KVM_SET_LAPIC before KVM_SET_MSRS: MSR_IA32_TSC_DEADLINE is taken only when the LAPIC
        // timer is already in TSC-deadline mode.
        vcpu.SetLapic(Lapic);
        vcpu.SetMsrs(MsrsToWrite());
        // Events last: they restore the pending exception/NMI/interrupt state the calls above
        // reset. The flag makes KVM take nmi.pending (it only reads it when asked to, arch/x86/kvm/x86.c
        // kvm_vcpu_ioctl_x86_set_vcpu_events), so a pending NMI is not dropped.
        var events = Events;
        events.Flags |= KvmVcpuEvents.ValidNmiPending;
        vcpu.SetVcpuEvents(events);
        // Tell a kvmclock guest it was paused, so its watchdogs do not count the gap (Firecracker
        // restore_state); EINVAL (no kvmclock registered) is fine.
        vcpu.KvmclockCtrl();
    }

    /// <summary>
    /// The MSRs in write order: MSR_IA32_TSC_DEADLINE after MSR_IA32_TSC (KVM_SET_MSRS writes in
    /// array order), because KVM arms the deadline timer by comparing with the guest TSC, so a
    /// deadline written before the TSC can be taken as long past or far away (Firecracker
    /// DEFERRED_MSRS). A TSC deadline of 0 is written as the TSC value instead: KVM clears the
    /// deadline MSR when the timer fires, and an expiry that had not yet reached the LAPIC's IRR
    /// when the state was read is in no state KVM exports, so restoring 0 would leave the guest
    /// waiting forever for that tick; a deadline already due makes KVM raise it again at once
    /// (Firecracker fix_zero_tsc_deadline_msr, from observed lost timer interrupts). With the
    /// timer not in TSC-deadline mode KVM ignores the write.
    /// </summary>
    internal KvmMsrEntry[] MsrsToWrite()
    {
        var msrs = Msrs.Where(m => m.Index != MsrIa32TscDeadline).Concat(Msrs.Where(m => m.Index == MsrIa32TscDeadline)).ToArray();
        ulong? tsc = null;
        foreach (var m in msrs)
            if (m.Index == MsrIa32Tsc) tsc = m.Data;
        if (tsc is ulong value)
            for (int i = 0; i < msrs.Length; i++)
                if (msrs[i].Index == MsrIa32TscDeadline && msrs[i].Data == 0) msrs[i].Data = value;
        return msrs;
    }

    private enum Tag : ushort
    {
        VcpuId = 1, Cpuid = 2, TscKhz = 3, MpState = 4, Regs = 5, Sregs = 6, Xsave = 7, Fpu = 8, Xcrs = 9,
        DebugRegs = 10, Lapic = 11, Msrs = 12, Events = 13,
    }

    private static string? TagName(ushort tag) => Enum.IsDefined((Tag)tag) ? ((Tag)tag).ToString() : null;

    /// <summary>
    /// The state as a self-checking image: magic "CVCP", u16 <see cref="FormatVersion"/>, u16
    /// component count; per component a u16 tag, u16 0, u32 length and the payload; a CRC-32C of
    /// all before it. Little-endian. Payloads are the KVM structs' bytes (struct kvm_regs,
    /// kvm_sregs, ...); CPUID and MSRs as arrays of kvm_cpuid_entry2 and kvm_msr_entry; the vCPU id,
    /// TSC rate and MP state as u32.
    /// </summary>
    public byte[] Serialize()
    {
        var w = new StateImageWriter(Magic, FormatVersion);
        w.Add((ushort)Tag.VcpuId, VcpuId);
        w.AddArray((ushort)Tag.Cpuid, Cpuid.AsSpan());
        if (TscKhz is uint khz) w.Add((ushort)Tag.TscKhz, khz);
        w.Add((ushort)Tag.MpState, MpState);
        w.Add((ushort)Tag.Regs, Regs);
        w.Add((ushort)Tag.Sregs, Sregs);
        if (Xsave is not null) w.Add((ushort)Tag.Xsave, Xsave);
        if (Fpu is KvmFpu fpu) w.Add((ushort)Tag.Fpu, fpu);
        if (Xcrs is KvmXcrs xcrs) w.Add((ushort)Tag.Xcrs, xcrs);
        w.Add((ushort)Tag.DebugRegs, DebugRegs);
        w.Add((ushort)Tag.Lapic, Lapic);
        w.AddArray((ushort)Tag.Msrs, Msrs.AsSpan());
        w.Add((ushort)Tag.Events, Events);
        return w.ToArray();
    }

    /// <summary>Reads an image <see cref="Serialize"/> wrote; anything else is a <see cref="KvmStateFormatException"/>.</summary>
    public static VcpuState Deserialize(ReadOnlySpan<byte> image)
    {
        var r = StateImageReader.Parse(image, Magic, FormatVersion, "vCPU state", TagName);
        int id = r.Read<int>((ushort)Tag.VcpuId);
        if (id < 0) throw r.Fail($"has a negative vCPU id {id}");
        bool hasXsave = r.Has((ushort)Tag.Xsave), hasFpu = r.Has((ushort)Tag.Fpu);
        if (hasXsave == hasFpu)
            throw r.Fail(hasXsave ? "has both an XSAVE image and FPU state" : "has neither an XSAVE image nor FPU state");
        byte[]? xsave = null;
        if (hasXsave)
        {
            var x = r.Get((ushort)Tag.Xsave);
            if (x.Length < KvmXsave.LegacySize || x.Length > MaxXsaveBytes)
                throw r.Fail($"has an XSAVE image of {x.Length} bytes, expected {KvmXsave.LegacySize} to {MaxXsaveBytes}");
            xsave = x.ToArray();
        }
        var xcrs = r.ReadOptional<KvmXcrs>((ushort)Tag.Xcrs);
        if (xcrs is KvmXcrs xc && xc.NrXcrs > KvmXcrs.MaxXcrs)
            throw r.Fail($"has {xc.NrXcrs} XCRs, at most {KvmXcrs.MaxXcrs} exist");
        return new VcpuState
        {
            VcpuId = id,
            Cpuid = r.ReadArray<KvmCpuidEntry2>((ushort)Tag.Cpuid, MaxCpuidEntries),
            TscKhz = r.ReadOptional<uint>((ushort)Tag.TscKhz),
            MpState = r.Read<KvmMpState>((ushort)Tag.MpState),
            Regs = r.Read<KvmRegs>((ushort)Tag.Regs),
            Sregs = r.Read<KvmSregs>((ushort)Tag.Sregs),
            Xsave = xsave,
            Fpu = r.ReadOptional<KvmFpu>((ushort)Tag.Fpu),
            Xcrs = xcrs,
            DebugRegs = r.Read<KvmDebugRegs>((ushort)Tag.DebugRegs),
            Lapic = r.Read<KvmLapicState>((ushort)Tag.Lapic),
            Msrs = r.ReadArray<KvmMsrEntry>((ushort)Tag.Msrs, MaxMsrs),
            Events = r.Read<KvmVcpuEvents>((ushort)Tag.Events),
        };
    }
}
