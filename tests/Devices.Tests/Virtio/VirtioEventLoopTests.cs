using Csvmm.Host.Events;
using Csvmm.Devices.Virtio;
using Csvmm.Kvm;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.MmioDriver;

namespace Csvmm.Devices.Tests.Virtio;

public sealed class VirtioEventLoopTests : IDisposable
{
    private readonly RingLayout _ring = new();
    private readonly FakeVirtioDevice _device = new();
    private readonly VirtioMmioTransport _t;
    private readonly VirtioEventLoop _loop = new();

    public VirtioEventLoopTests()
    {
        _t = new VirtioMmioTransport(_device, _ring.Memory, new TestInterruptLine());
        _loop.Add(_t);
    }

    public void Dispose()
    {
        _loop.Dispose();
        _t.Dispose();
        _ring.Dispose();
    }

    [Fact]
    public void Queue_notify_runs_the_queue_on_the_loop_and_counts_the_notification()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1);
        _t.Write32(QueueNotify, 0);
        _t.Write32(QueueNotify, 0); // two kicks before the loop wakes merge into one wake-up
        Assert.Equal(1, _loop.RunOnce(1000));
        Assert.Equal([0], _device.Processed);
        Assert.Equal(1, _t.Queues[0].Counters.Notifications);
        Assert.Equal(0, _loop.RunOnce(0));
    }

    [Fact]
    public void Extra_fd_callback_runs_on_the_loop()
    {
        using var fd = new EventFd();
        int calls = 0;
        _loop.AddFd(fd.Fd, Epoll.In, _ => { calls++; fd.Drain(); });
        fd.Signal();
        _loop.RunOnce(1000);
        Assert.Equal(1, calls);
        _loop.RemoveFd(fd.Fd);
        fd.Signal();
        Assert.Equal(0, _loop.RunOnce(0));
    }

    [Fact]
    public void Started_loop_processes_kicks_and_stops_on_request()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1);
        using var done = new ManualResetEventSlim();
        _device.OnProcess = _ => done.Set();
        _loop.Start();
        _t.Write32(QueueNotify, 0);
        Assert.True(done.Wait(5000));
        _loop.Stop();
        Assert.Equal(0, _loop.LoopErrors);
    }
}
