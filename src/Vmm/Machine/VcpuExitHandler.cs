using System.Text;
using Csvmm.Devices.Bus;
using Csvmm.Kvm;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// What csvmm does with each vCPU exit: port and memory accesses go to the buses, everything else
/// ends the run with a stop reason. Free of KVM: tests hand it synthetic <see cref="VcpuExit"/>s.
/// </summary>
public sealed class VcpuExitHandler(DeviceBus pio, DeviceBus mmio)
{
    public DeviceBus PioBus => pio;
    public DeviceBus MmioBus => mmio;

    /// <summary>Handles <paramref name="exit"/>; returns why the VM must stop, or null to run on.</summary>
    public StopReason? Handle(in VcpuExit exit, IVcpu vcpu)
    {
        switch (exit.Reason)
        {
            case KvmExitReason.Io:
                HandleIo(exit);
                return null;
            case KvmExitReason.Mmio:
                if (exit.MmioIsWrite) mmio.Write(exit.MmioAddress, exit.MmioData);
                else mmio.Read(exit.MmioAddress, exit.MmioData);
                return null;
            case KvmExitReason.Intr:
                return null;
            case KvmExitReason.Hlt:
                return new StopReason(StopKind.GuestReset, Detail: $"vCPU {vcpu.Id} halted");
            case KvmExitReason.Shutdown:
                return new StopReason(StopKind.TripleFault, Detail: $"vCPU {vcpu.Id}: triple fault (KVM_EXIT_SHUTDOWN) at {Rip(vcpu)}");
            case KvmExitReason.SystemEvent:
                return SystemEvent(exit.SystemEventType, vcpu.Id);
            case KvmExitReason.InternalError:
                return new StopReason(StopKind.EmulationFailure, Detail: DescribeInternalError(exit, vcpu));
            case KvmExitReason.FailEntry:
                return new StopReason(StopKind.FailEntry,
                    Detail: $"vCPU {vcpu.Id}: VM entry failed, hardware reason 0x{exit.HardwareReason:x} at {Rip(vcpu)}");
            default:
                return new StopReason(StopKind.UnknownExit,
                    Detail: $"vCPU {vcpu.Id}: unexpected exit {exit.Reason} ({(uint)exit.Reason}), hardware reason 0x{exit.HardwareReason:x}");
        }
    }

    private void HandleIo(in VcpuExit exit)
    {
        var data = exit.IoData;
        int size = exit.IoSize;
        if (size <= 0) return;
        // rep ins/outs arrive as count items of size bytes, all for the same port.
        for (int off = 0; off + size <= data.Length; off += size)
        {
            var item = data.Slice(off, size);
            if (exit.IoIsOut) pio.Write(exit.IoPort, item);
            else pio.Read(exit.IoPort, item);
        }
    }

    private static StopReason SystemEvent(uint type, int id) => type switch
    {
        // KVM_SYSTEM_EVENT_RESET = 2, KVM_SYSTEM_EVENT_CRASH = 3 (include/uapi/linux/kvm.h)
        2 => new StopReason(StopKind.GuestReset, Detail: $"vCPU {id}: guest requested a reset"),
        3 => new StopReason(StopKind.GuestPanic, Detail: $"vCPU {id}: guest crash event"),
        _ => new StopReason(StopKind.SystemEvent, Detail: $"vCPU {id}: guest system event {type} (shutdown)"),
    };

    public static string Rip(IVcpu vcpu) => vcpu.Rip() is { } rip ? $"RIP 0x{rip:x}" : "RIP unknown";

    /// <summary>
    /// KVM_EXIT_INTERNAL_ERROR with RIP and, for an emulation failure, the instruction bytes KVM
    /// fetched (struct emulation_failure in include/uapi/linux/kvm.h: flags, insn_size, insn_bytes).
    /// This is how every unemulated instruction on a nested host gets found.
    /// </summary>
    public static string DescribeInternalError(in VcpuExit exit, IVcpu vcpu)
    {
        var sb = new StringBuilder();
        uint sub = exit.InternalSuberror;
        string kind = sub switch { 1 => "emulation failure", 2 => "exception during exception delivery", 3 => "event delivery failure", _ => $"suberror {sub}" };
        sb.Append($"vCPU {vcpu.Id}: KVM internal error ({kind}) at {Rip(vcpu)}");
        if (!exit.InstructionBytes.IsEmpty)
        {
            sb.Append(", instruction bytes:");
            foreach (byte b in exit.InstructionBytes) sb.Append($" {b:x2}");
        }
        else if (sub == KvmRunPage.InternalErrorEmulation)
        {
            sb.Append(", instruction bytes not available");
        }
        else if (exit.InternalData.Length > 0)
        {
            sb.Append(", data:");
            foreach (var d in exit.InternalData) sb.Append($" 0x{d:x}");
        }
        return sb.ToString();
    }
}
