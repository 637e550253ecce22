using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Host.Memory;
using Csvmm.Host.Native;
using Csvmm.Kvm;
using Csvmm.Vmm.Cli;
using Csvmm.Vmm.Machine;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Machine;

/// <summary>
/// The run loop and shutdown order of <see cref="VirtualMachine"/>, driven without KVM: vCPUs are
/// fakes, so a vCPU that will not leave KVM_RUN and a failing device thread can be staged.
/// </summary>
public sealed class VirtualMachineLifecycleTests
{
    [Fact]
    public void A_halting_vcpu_stops_the_vm_and_everything_is_torn_down_in_order()
    {
        var vcpu = new FakeVcpu();
        var resource = new FakeMachine.Resource();
        var vm = FakeMachine.Create([vcpu], resources: [resource]);
        var outcome = vm.Run();
        Assert.Equal(StopKind.GuestReset, outcome.Stop.Kind);
        Assert.True(outcome.SafeToTearDown);
        vm.Dispose();
        Assert.True(vcpu.Disposed);
        Assert.True(resource.Disposed);
    }

    /// <summary>
    /// A vCPU that does not leave KVM_RUN when kicked is kicked again; if it still runs, the VM
    /// reports it and leaves guest memory and the vCPU mapped (exit 84) instead of unmapping them
    /// under a running thread.
    /// </summary>
    [Fact]
    public void A_vcpu_that_will_not_stop_is_kicked_again_and_nothing_is_unmapped()
    {
        var stuck = new FakeVcpu(0) { IgnoreKicks = true };
        var halting = new FakeVcpu(1);
        var resource = new FakeMachine.Resource();
        var vm = FakeMachine.Create([stuck, halting], resources: [resource]);
        try
        {
            var outcome = vm.Run();
            Assert.Equal([0], outcome.StuckVcpus);
            Assert.False(outcome.SafeToTearDown);
            Assert.True(stuck.Kicks >= VirtualMachine.KickAttempts, $"kicked {stuck.Kicks} times");
            Assert.Equal((int)ExitCode.VcpuStuck, ExitCodeMap.For(outcome).Code);
            vm.Dispose();
            Assert.False(stuck.Disposed);
            Assert.False(resource.Disposed);
        }
        finally
        {
            stuck.Release();
        }
    }

    /// <summary>A timeout far beyond what one wait can take must neither throw nor skip the shutdown.</summary>
    [Fact]
    public void A_timeout_beyond_the_range_of_one_wait_runs_and_shuts_down_normally()
    {
        var vcpu = new FakeVcpu();
        var vm = FakeMachine.Create([vcpu], timeoutSeconds: 1e9);
        var outcome = vm.Run();
        Assert.Equal(StopKind.GuestReset, outcome.Stop.Kind);
        Assert.True(outcome.SafeToTearDown);
        vm.Dispose();
    }

    /// <summary>A VM started paused (a snapshot loaded without resume_vm) runs no guest code until resumed.</summary>
    [Fact]
    public void A_vm_started_paused_runs_nothing_until_resumed_and_then_tells_the_guest_it_was_paused()
    {
        var vcpu = new FakeVcpu().Then(KvmExitReason.Hlt);
        var vm = FakeMachine.Create([vcpu], startPaused: true);
        var run = Task.Run(vm.Run);
        Assert.True(vm.WaitStarted(TimeSpan.FromSeconds(10)));
        Thread.Sleep(200);
        Assert.False(run.IsCompleted, "the halting vCPU ran while the VM was to be paused");
        Assert.Equal(0, vcpu.PauseNotices);
        vm.Resume();
        Assert.True(run.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, vcpu.PauseNotices);
        vm.Dispose();
    }

    [Fact]
    public void Pause_parks_a_spinning_vcpu_and_resume_notifies_it_once()
    {
        var vcpu = new FakeVcpu { SpinWhenDone = true };
        var vm = FakeMachine.Create([vcpu]);
        var run = Task.Run(vm.Run);
        Assert.True(vm.WaitStarted(TimeSpan.FromSeconds(10)));
        Assert.True(vm.Pause(TimeSpan.FromSeconds(10)));
        int runs = Volatile.Read(ref vcpu.Runs);
        Thread.Sleep(100);
        Assert.Equal(runs, Volatile.Read(ref vcpu.Runs)); // parked: no KVM_RUN while paused
        vm.Resume();
        Assert.Equal(1, vcpu.PauseNotices);
        SpinWait.SpinUntil(() => Volatile.Read(ref vcpu.Runs) > runs, 10_000);
        Assert.True(Volatile.Read(ref vcpu.Runs) > runs, "the vCPU did not run again after resume");
        vm.RequestStop(new StopReason(StopKind.Terminated, Detail: "test"));
        Assert.True(run.Wait(TimeSpan.FromSeconds(10)));
        vm.Dispose();
    }

    [Fact]
    public void Timeout_stops_a_spinning_guest()
    {
        var vcpu = new FakeVcpu { SpinWhenDone = true };
        var vm = FakeMachine.Create([vcpu], timeoutSeconds: 0.2);
        var outcome = vm.Run();
        Assert.Equal(StopKind.Timeout, outcome.Stop.Kind);
        Assert.Equal(124, ExitCodeMap.For(outcome).Code);
        vm.Dispose();
    }

    /// <summary>A device thread that dies stops the VM with one line naming the device (exit 83).</summary>
    [Fact]
    public void A_failing_device_thread_stops_the_vm_with_a_device_failure()
    {
        var vcpu = new FakeVcpu { SpinWhenDone = true };
        var memory = GuestMemory.FromArray(new byte[0x10000]);
        var device = new FakeBlockBackendDevice(memory);
        VirtualMachine? vm = null;
        var worker = new VirtioDeviceWorker(device.Core, "virtio-blk vda", null, (name, e) => vm!.OnDeviceThreadFailed(name, e))
        {
            BeforeWait = () => throw new SystemCallException("epoll_wait", 9 /* EBADF */),
        };
        vm = FakeMachine.Create([vcpu], [device.Attach(worker)], [device.Core]);
        var outcome = vm.Run();
        Assert.Equal(StopKind.DeviceFailure, outcome.Stop.Kind);
        var (code, message) = ExitCodeMap.For(outcome);
        Assert.Equal((int)ExitCode.DeviceFailure, code);
        Assert.Contains("virtio-blk vda", message);
        Assert.Contains("epoll_wait", message);
        vm.Dispose();
    }

    /// <summary>
    /// The last fdatasync at shutdown fails: the exit code says so (74) and names the disk, whatever
    /// the guest reported, because the guest's data may not be on the disk.
    /// </summary>
    [Fact]
    public void A_failed_final_sync_overrides_the_guest_status_and_names_the_disk()
    {
        var memory = GuestMemory.FromArray(new byte[0x10000]);
        var device = new FakeBlockBackendDevice(memory) { FlushError = Errno.EIO };
        var worker = new VirtioDeviceWorker(device.Core, "virtio-blk vda", null, (_, _) => { });
        var vm = FakeMachine.Create([new FakeVcpu()], [device.Attach(worker)], [device.Core]);
        var outcome = vm.Run();
        var failure = Assert.Single(outcome.SyncFailures);
        Assert.Equal("fake-disk.img", failure.Target);
        var (code, message) = ExitCodeMap.For(outcome);
        Assert.Equal((int)ExitCode.SyncFailed, code);
        Assert.Contains("fake-disk.img", message);
        vm.Dispose();
    }

    private sealed class NullLine : Csvmm.Devices.IInterruptLine
    {
        public void Trigger() { }
    }

    /// <summary>A virtio-blk device over an in-memory disk whose fdatasync can fail, attached as the builder would.</summary>
    private sealed class FakeBlockBackendDevice(GuestMemory memory) : IBlockBackend
    {
        private readonly byte[] _bytes = new byte[64 * 1024];
        private BlockDevice? _device;
        private VirtioTransportCore? _core;

        public int FlushError { get; set; }
        public string Path => "fake-disk.img";
        public bool ReadOnly => false;
        public ulong CapacitySectors => (ulong)_bytes.Length / 512;
        public ulong Device => 1;
        public ulong Inode => 1;
        public long Read(ReadOnlySpan<IoVec> iov, long offset) => 0;
        public long Write(ReadOnlySpan<IoVec> iov, long offset) => 0;
        public int Flush() => FlushError;
        public int Discard(long offset, long length) => 0;
        public int WriteZeroes(long offset, long length, bool unmap) => 0;

        public BlockDevice BlockDevice => _device ??= new BlockDevice(this);
        public VirtioTransportCore Core => _core ??= new VirtioTransportCore(BlockDevice, memory);

        public AttachedVirtioDevice Attach(VirtioDeviceWorker worker) =>
            new("vda", "virtio-blk", [new("path", Path)], BlockDevice, BlockDevice.Counters, Core, [], worker, (0xD0000000, 5), new Csvmm.Devices.Virtio.Mmio.VirtioMmioTransport(Core, new NullLine()));
    }
}
