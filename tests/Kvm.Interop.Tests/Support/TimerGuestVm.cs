using Csvmm.Host.Memory;

namespace Csvmm.Kvm.Tests.Support;

/// <summary>A VM, its memory and its one vCPU for <see cref="TimerGuest"/>, set up as csvmm's builder does.</summary>
public sealed class TimerGuestVm : IDisposable
{
    public static readonly TimeSpan ReportTimeout = TimeSpan.FromSeconds(10);

    private TimerGuestVm(KvmVm vm, GuestMemory memory, KvmVcpu vcpu)
    {
        Vm = vm;
        Memory = memory;
        Vcpu = vcpu;
    }

    public KvmVm Vm { get; }
    public GuestMemory Memory { get; }
    public KvmVcpu Vcpu { get; }

    public ulong Counter => Memory.Read<ulong>(TimerGuest.CounterAddress);
    public ulong Ticks => Memory.Read<ulong>(TimerGuest.TicksAddress);

    /// <summary>A VM with the guest loaded (the busy loop unless <paramref name="loop"/> says otherwise) and its vCPU at the first instruction.</summary>
    public static TimerGuestVm Boot(KvmSystem kvm, byte[]? loop = null)
    {
        var machine = Create(kvm, image: null);
        TimerGuest.WriteImage(machine.Memory, loop ?? TimerGuest.BusyLoop);
        TimerGuest.ConfigureVcpu(kvm, machine.Vcpu);
        return machine;
    }

    /// <summary>A fresh VM whose memory holds <paramref name="image"/> and whose vCPU was never set up: a restore target.</summary>
    public static TimerGuestVm FromMemory(KvmSystem kvm, ReadOnlySpan<byte> image) => Create(kvm, image.ToArray());

    private static TimerGuestVm Create(KvmSystem kvm, byte[]? image)
    {
        var vm = TimerGuest.CreateVm(kvm);
        GuestMemory? memory = null;
        try
        {
            memory = GuestMemory.CreateAnonymous([(0, TimerGuest.MemorySize)]);
            if (image is not null) memory.Write(0, image);
            vm.SetUserMemoryRegion(0, 0, TimerGuest.MemorySize, memory.Regions[0].HostAddress);
            return new TimerGuestVm(vm, memory, vm.CreateVcpu(0));
        }
        catch
        {
            memory?.Dispose();
            vm.Dispose();
            throw;
        }
    }

    public uint RunUntilReport() => TimerGuest.RunUntilReport(Vcpu, ReportTimeout);

    /// <summary>Runs report by report until the timer handler has counted <paramref name="ticks"/>; returns the last report.</summary>
    public uint RunUntilTicks(ulong ticks)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            uint report = RunUntilReport();
            if (Ticks >= ticks) return report;
            if (clock.Elapsed > ReportTimeout)
                throw new TimeoutException($"the guest counted {Ticks} timer ticks in {ReportTimeout}, waiting for {ticks}");
        }
    }

    public byte[] CopyMemory() => Memory.GetSpan(0, (int)TimerGuest.MemorySize).ToArray();

    public void Dispose()
    {
        Vcpu.Dispose();
        Vm.Dispose();
        Memory.Dispose();
    }
}
