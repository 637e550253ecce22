using System.Runtime.InteropServices;
using System.Text;
using Csvmm.Kvm;
using Csvmm.Host.Native;
using Serilog;

namespace Csvmm.Vmm.Machine;

/// <summary>
/// One vCPU's thread: KVM_RUN in a loop, PIO/MMIO exits dispatched to the buses, every other exit
/// turned into a stop reason. Kicked out of KVM_RUN with immediate_exit + SIGUSR1 (the .NET
/// runtime owns SIGRTMIN; REFERENCE 1.13).
/// </summary>
internal sealed class VcpuThread : IDisposable
{
    public const int KickSignal = 10; // SIGUSR1

    // A handler must exist, or SIGUSR1's default action would kill the process; the runtime's
    // native handler makes KVM_RUN return EINTR and defers our (empty) callback to a managed thread.
    private static readonly PosixSignalRegistration KickRegistration =
        PosixSignalRegistration.Create((PosixSignal)KickSignal, ctx => ctx.Cancel = true);

    private readonly VirtualMachine _machine;
    private readonly KvmVcpu _vcpu;
    private readonly ILogger _log;
    private readonly Thread _thread;
    private volatile int _tid;

    public VcpuThread(VirtualMachine machine, KvmVcpu vcpu, ILogger log)
    {
        GC.KeepAlive(KickRegistration);
        _machine = machine;
        _vcpu = vcpu;
        _log = log;
        _thread = new Thread(Loop) { Name = $"vcpu{vcpu.Id}", IsBackground = true };
    }

    public int Id => _vcpu.Id;

    public ExitCounters Exits { get; } = new();

    public void Start() => _thread.Start();

    public bool Join(TimeSpan timeout) => !_thread.IsAlive || _thread.Join(timeout);

    /// <summary>Makes the vCPU leave KVM_RUN whichever side of the ioctl entry it is on.</summary>
    public void Kick()
    {
        _vcpu.Run.ImmediateExit = true;
        int tid = _tid;
        if (tid != 0 && _thread.IsAlive) Posix.SignalThread(tid, KickSignal);
    }

    private void Loop()
    {
        _tid = Posix.CurrentThreadId();
        var run = _vcpu.Run;
        try
        {
            if (_vcpu.Id == 0) _machine.OnFirstRun();
            while (!_machine.Stopping)
            {
                if (!_vcpu.RunOnce())
                {
                    Exits.Count(KvmExitReason.Intr);
                    // Clear before re-checking Stopping: a kick sets Stopping first, so it is seen.
                    run.ImmediateExit = false;
                    continue;
                }
                var reason = run.ExitReason;
                Exits.Count(reason);
                switch (reason)
                {
                    case KvmExitReason.Io:
                        HandleIo(run);
                        break;
                    case KvmExitReason.Mmio:
                        if (run.MmioIsWrite) _machine.MmioBus.Write(run.MmioPhysAddr, run.MmioData);
                        else _machine.MmioBus.Read(run.MmioPhysAddr, run.MmioData);
                        break;
                    case KvmExitReason.Intr:
                        break;
                    case KvmExitReason.Hlt:
                        _machine.RequestStop(new StopReason(StopKind.GuestReset, Detail: $"vCPU {Id} halted"));
                        return;
                    case KvmExitReason.Shutdown:
                        _machine.RequestStop(new StopReason(StopKind.TripleFault,
                            Detail: $"vCPU {Id}: triple fault (KVM_EXIT_SHUTDOWN) at {Rip()}"));
                        return;
                    case KvmExitReason.SystemEvent:
                        _machine.RequestStop(SystemEvent(run.SystemEventType));
                        return;
                    case KvmExitReason.InternalError:
                        _machine.RequestStop(new StopReason(StopKind.EmulationFailure, Detail: DescribeInternalError(run)));
                        return;
                    case KvmExitReason.FailEntry:
                        _machine.RequestStop(new StopReason(StopKind.FailEntry,
                            Detail: $"vCPU {Id}: VM entry failed, hardware reason 0x{run.FailEntryReason:x} at {Rip()}"));
                        return;
                    default:
                        _machine.RequestStop(new StopReason(StopKind.UnknownExit,
                            Detail: $"vCPU {Id}: unexpected exit {reason} ({(uint)reason}), hardware reason 0x{run.HardwareExitReason:x}"));
                        return;
                }
            }
            // Where a stopped guest was is the first question about a hang (see --timeout).
            _log.Debug("vCPU {Id} stopped at {Rip}", Id, Rip());
        }
        catch (Exception e)
        {
            _log.Debug(e, "vCPU {Id} failed", Id);
            _machine.RequestStop(new StopReason(StopKind.VmmError, Detail: $"vCPU {Id}: {e.Message}"));
        }
    }

    private void HandleIo(KvmRunPage run)
    {
        var data = run.IoData;
        int size = run.IoSize;
        ushort port = run.IoPort;
        // rep ins/outs arrive as count items of size bytes, all for the same port.
        for (int off = 0; off + size <= data.Length; off += size)
        {
            var item = data.Slice(off, size);
            if (run.IoIsOut) _machine.PioBus.Write(port, item);
            else _machine.PioBus.Read(port, item);
        }
    }

    private StopReason SystemEvent(uint type) => type switch
    {
        2 => new StopReason(StopKind.GuestReset, Detail: $"vCPU {Id}: guest requested a reset"),
        3 => new StopReason(StopKind.GuestPanic, Detail: $"vCPU {Id}: guest crash event"),
        _ => new StopReason(StopKind.SystemEvent, Detail: $"vCPU {Id}: guest system event {type} (shutdown)"),
    };

    private string Rip()
    {
        try { return $"RIP 0x{_vcpu.GetRegs().Rip:x}"; }
        catch (KvmException) { return "RIP unknown"; }
    }

    /// <summary>
    /// KVM_EXIT_INTERNAL_ERROR with RIP and, for an emulation failure, the instruction bytes KVM
    /// fetched (struct emulation_failure in include/uapi/linux/kvm.h: flags, insn_size, insn_bytes).
    /// This is how every unemulated instruction on a nested host gets found.
    /// </summary>
    private string DescribeInternalError(KvmRunPage run)
    {
        var sb = new StringBuilder();
        uint sub = run.InternalSuberror;
        string kind = sub switch { 1 => "emulation failure", 2 => "exception during exception delivery", 3 => "event delivery failure", _ => $"suberror {sub}" };
        sb.Append($"vCPU {Id}: KVM internal error ({kind}) at {Rip()}");
        var insn = run.EmulationInstructionBytes;
        if (!insn.IsEmpty)
        {
            sb.Append(", instruction bytes:");
            foreach (byte b in insn) sb.Append($" {b:x2}");
        }
        else if (sub == KvmRunPage.InternalErrorEmulation)
        {
            sb.Append(", instruction bytes not available");
        }
        else if (run.InternalData.Length > 0)
        {
            sb.Append(", data:");
            foreach (var d in run.InternalData) sb.Append($" 0x{d:x}");
        }
        return sb.ToString();
    }

    public void Dispose() => _vcpu.Dispose();
}
