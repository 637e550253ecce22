using System.Diagnostics;
using Csvmm.Devices;
using Csvmm.Devices.Bus;
using Csvmm.Devices.Legacy;
using Csvmm.Host.Memory;
using Csvmm.Vmm.Config;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>A <see cref="VirtualMachine"/> assembled from fakes: no KVM, no kernel; vCPUs are <see cref="FakeVcpu"/>s.</summary>
public static class FakeMachine
{
    public sealed class Resource : IDisposable
    {
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    private sealed class NullSink : ISerialSink
    {
        public void Write(byte value) { }
    }

    private sealed class NullLine : IInterruptLine
    {
        public void Trigger() { }
    }

    internal static VirtualMachine Create(IReadOnlyList<IVcpu> vcpus, IReadOnlyList<AttachedVirtioDevice>? devices = null,
        IReadOnlyList<IDisposable>? resources = null, double timeoutSeconds = 0, DeviceBus? pio = null, DeviceBus? mmio = null,
        bool startPaused = false)
    {
        var memory = GuestMemory.FromArray(new byte[0x10000]);
        pio ??= new DeviceBus("pio");
        mmio ??= new DeviceBus("mmio");
        var parts = new VmParts(null!, vcpus, new VcpuExitHandler(pio, mmio), devices ?? [], [memory, .. resources ?? []],
            memory, pio, mmio, new Serial16550(new NullSink(), new NullLine()), new I8042Controller(() => { }), "test");
        var config = new VmConfig { KernelPath = "none", TimeoutSeconds = timeoutSeconds, StartPaused = startPaused };
        return new VirtualMachine(config, Serilog.Core.Logger.None, Stopwatch.StartNew(), parts);
    }
}
