using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Csvmm.Host.Events;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.MmioDriver;

namespace Csvmm.Devices.Tests.Virtio;

/// <summary>The device thread: notifications, event sources, fairness, failure and pause.</summary>
public sealed class VirtioDeviceWorkerTests : IDisposable
{
    private readonly RingLayout _ring = new();
    private readonly FakeVirtioDevice _device = new();
    private readonly VirtioMmioTransport _t;
    private readonly VirtioDeviceWorker _worker;
    private readonly List<(string Name, Exception Error)> _fatal = [];

    public VirtioDeviceWorkerTests()
    {
        _t = new VirtioMmioTransport(_device, _ring.Memory, new TestInterruptLine());
        _worker = new VirtioDeviceWorker(_t.Core, "fake0", null, (name, e) => { lock (_fatal) _fatal.Add((name, e)); });
    }

    public void Dispose()
    {
        _worker.Dispose();
        _t.Dispose();
        _ring.Dispose();
    }

    /// <summary>Both of the fake device's queues live: 0 on the ring layout, 1 beside it.</summary>
    private void BringUpBothQueues()
    {
        Assert.True(_t.Negotiate(VirtioFeatures.Version1));
        _t.SetupQueue(0, _ring.Size, RingLayout.DescTable, RingLayout.AvailRing, RingLayout.UsedRing);
        _t.SetupQueue(1, 8, 0x4000, 0x5000, 0x6000);
        _t.Write32(Status, Live);
    }

    /// <summary>Runs the worker by hand until it has nothing left to do.</summary>
    private void Pump()
    {
        for (int i = 0; i < 100 && _worker.RunOnce(0) > 0; i++) { }
    }

    [Fact]
    public void Queue_notify_runs_the_queue_on_the_device_thread_and_counts_the_notification()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1);
        Pump(); // the activation posted at DRIVER_OK
        _t.Write32(QueueNotify, 0);
        _t.Write32(QueueNotify, 0); // two kicks before the thread wakes merge into one wake-up
        Assert.Equal(1, _worker.RunOnce(1000));
        Assert.Equal([0], _device.Processed);
        Assert.Equal(1, _t.Core.QueueCounters[0].Notifications.Value);
        Assert.Equal(0, _worker.RunOnce(0));
    }

    [Fact]
    public void Activation_is_done_on_the_device_thread_before_the_kick_that_follows_it()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1);
        Assert.Equal(0, _device.Activations); // posted, not run by the vCPU
        _t.Write32(QueueNotify, 0);
        _worker.RunOnce(1000);
        Assert.Equal(1, _device.Activations);
        Assert.Equal([0], _device.Processed);
    }

    [Fact]
    public void Device_event_source_runs_on_the_device_thread_and_the_queue_it_names_is_processed()
    {
        using var fd = new EventFd();
        _device.EventSources = [new DeviceEventSource(fd.Fd, Epoll.In | Epoll.EdgeTriggered)];
        _device.EventQueue = 1;
        using var worker = new VirtioDeviceWorker(_t.Core, "fake1", null, (_, _) => { });
        BringUpBothQueues();
        worker.RunOnce(0);
        fd.Signal();
        Assert.Equal(1, worker.RunOnce(1000));
        Assert.Single(_device.Events);
        Assert.Equal([1], _device.Processed);
    }

    /// <summary>
    /// A queue the guest keeps full (its handler always has more) must not starve the device's other
    /// queue: each round serves every pending queue once.
    /// </summary>
    [Fact]
    public void A_queue_that_always_has_work_does_not_starve_the_other_queue()
    {
        _device.MoreWork = q => q == 0;
        BringUpBothQueues();
        Pump();
        _t.Write32(QueueNotify, 0);
        _worker.RunOnce(1000);
        _t.Write32(QueueNotify, 1);
        _worker.RunOnce(1000);
        _worker.RunOnce(0);
        Assert.Contains(1, _device.Processed);
        Assert.True(_device.Processed.Count(q => q == 0) >= 2, "queue 0 was not called again after spending its budget");
    }

    [Fact]
    public void A_failing_device_thread_reports_itself_once_and_ends()
    {
        _worker.BeforeWait = () => throw new InvalidOperationException("epoll_wait failed: EBADF");
        _worker.Start();
        Assert.True(SpinWait.SpinUntil(() => { lock (_fatal) return _fatal.Count > 0; }, 5000));
        Assert.True(_worker.Stop(TimeSpan.FromSeconds(5)));
        var (name, error) = Assert.Single(_fatal);
        Assert.Equal("fake0", name);
        Assert.Contains("EBADF", error.Message);
    }

    [Fact]
    public void Started_thread_processes_kicks_and_stops_on_request()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1);
        using var done = new ManualResetEventSlim();
        _device.OnProcess = _ => done.Set();
        _worker.Start();
        _t.Write32(QueueNotify, 0);
        Assert.True(done.Wait(5000));
        Assert.True(_worker.Stop(TimeSpan.FromSeconds(5)));
        Assert.Empty(_fatal);
    }

    /// <summary>
    /// The thread holds EVENT_IDX notification requests while it may still poll: a buffer the
    /// driver publishes right after the ring ran empty (avail_event still behind it, so the driver
    /// sends no kick) is served without one, and avail_event is written before the thread sleeps.
    /// </summary>
    [Fact]
    public void Buffers_added_after_the_ring_ran_empty_are_served_without_a_kick_and_avail_event_is_armed_before_sleeping()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1 | VirtioFeatures.EventIdx);
        _ring.SetDescriptor(0, 0x8000, 16, 2);
        _ring.Publish(0);
        var chain = new DescriptorChain(16);
        int served = 0;
        _device.OnProcess = q =>
        {
            var queue = _device.Queues![q];
            while (queue.TryPopChain(chain) == PopResult.Chain)
            {
                queue.AddUsed(chain.Head, 0);
                Interlocked.Increment(ref served);
            }
            Assert.False(queue.EnableNotification());
            if (Volatile.Read(ref served) == 1) _ring.Publish(0); // the driver, racing: no kick
        };
        _worker.Start();
        _t.Write32(QueueNotify, 0);
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref served) == 2, 5000), "the second buffer was not served");
        Assert.True(SpinWait.SpinUntil(() => _ring.AvailEvent == 2, 5000), $"avail_event is {_ring.AvailEvent}, not armed at 2");
        Assert.Equal(1, _t.Core.QueueCounters[0].Notifications.Value);
        Assert.True(_worker.Stop(TimeSpan.FromSeconds(5)));
        Assert.Empty(_fatal);
    }

    [Fact]
    public void Paused_thread_serves_nothing_until_resumed()
    {
        _t.BringUp(_ring, VirtioFeatures.Version1);
        using var done = new ManualResetEventSlim();
        _device.OnProcess = _ => done.Set();
        _worker.Start();
        Assert.True(_worker.Pause(TimeSpan.FromSeconds(5)));
        _t.Write32(QueueNotify, 0);
        Assert.False(done.Wait(300));
        _worker.Resume();
        Assert.True(done.Wait(5000));
    }
}
