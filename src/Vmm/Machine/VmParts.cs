using Csvmm.Devices.Bus;
using Csvmm.Devices.Legacy;
using Csvmm.Host.Memory;

namespace Csvmm.Vmm.Machine;

/// <summary>What the builder hands to a <see cref="VirtualMachine"/>; <see cref="Resources"/> are disposed last to first.</summary>
internal sealed record VmParts(
    Csvmm.Kvm.KvmVm KvmVm,
    IReadOnlyList<IVcpu> Vcpus,
    VcpuExitHandler ExitHandler,
    IReadOnlyList<AttachedVirtioDevice> VirtioDevices,
    IReadOnlyList<IDisposable> Resources,
    GuestMemory Memory,
    DeviceBus PioBus,
    DeviceBus MmioBus,
    Serial16550 Serial,
    I8042Controller I8042,
    string KernelCommandLine);
