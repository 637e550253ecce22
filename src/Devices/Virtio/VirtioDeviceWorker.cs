using System.Collections.Concurrent;
using System.Diagnostics;
using Csvmm.Host.Events;
using Serilog;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// The thread one virtio device runs on (Cloud Hypervisor's model: one epoll thread per device). It
/// waits on the device's queue eventfds (KVM ioeventfd targets), on the device's own event sources
/// (a TAP) and on a command eventfd, and runs everything the device does: activation and reset
/// posted by the transport, then queue processing. Devices therefore never block each other or a
/// vCPU: a vCPU only posts work, and a device stuck in a long fdatasync holds up its own queues only.
/// <para>
/// Fairness inside one device: a handler that used up its budget (<see cref="QueueService.Budget"/>)
/// is marked pending and called again after one non-blocking look at every other event.
/// </para>
/// <para>
/// Adaptive polling (QEMU's AioContext polling, util/aio-posix.c, is the model): when the rings
/// run empty the thread keeps watching their avail.idx for a short window before it sleeps, and
/// meanwhile leaves the driver's notifications disabled (EVENT_IDX's avail_event stays behind,
/// <see cref="Virtqueue.HoldNotifications"/>), so a driver that adds the next request within the
/// window needs no kick — no vCPU exit, no wake-up of this thread. The window grows (from
/// <see cref="MinPollNs"/>, doubling, up to <see cref="MaxPollNs"/>) while the sleeps that follow
/// it keep ending within <see cref="MaxPollNs"/>, and halves (down to none) after a longer one, so
/// an idle or slow guest costs no spinning. Before sleeping the thread writes avail_event and looks
/// once more (<see cref="VirtioTransportCore.ArmNotifications"/>), so no request is missed.
/// </para>
/// <para>
/// A failure of the thread itself (epoll, eventfd) would leave the guest with a dead device; it is
/// reported through the fatal callback, and the VM stops. Device exceptions do not get here: the
/// transport turns them into DEVICE_NEEDS_RESET.
/// </para>
/// </summary>
public sealed class VirtioDeviceWorker : IDeviceThread, IDisposable
{
    private const ulong CommandToken = 0;
    private const int MaxEvents = 32;

    /// <summary>
    /// Longest polling window. QEMU's default poll-max-ns for its I/O threads is 32768 ns, sized for
    /// hosts where a notification costs a microsecond or two. Here a kick from guest user mode is a
    /// ~26 µs exit (nested KVM, PVM backend) and the sleeping thread's wake-up adds tens of µs more,
    /// so a sleep "saved by polling" runs up to ~100 µs; with a 32 µs cap the window, once shrunk,
    /// never grew back (measured: QD1 random reads alternated between ~17k and ~300k IOPS).
    /// </summary>
    public const long MaxPollNs = 262_144;

    /// <summary>First window after a short sleep (QEMU starts at 4 µs too, then doubles).</summary>
    public const long MinPollNs = 4_096;

    /// <summary>Ring looks between two checks of the clock and the other event sources.</summary>
    private const int SpinsPerCheck = 64;

    /// <summary>Ring looks between two sched_yield()s while polling.</summary>
    private const int YieldEvery = 8;

    private static readonly long MaxPollTicks = MaxPollNs * Stopwatch.Frequency / 1_000_000_000;
    private static readonly long MinPollTicks = Math.Max(1, MinPollNs * Stopwatch.Frequency / 1_000_000_000);

    private readonly VirtioTransportCore _core;
    private readonly string _name;
    private readonly ILogger _log;
    private readonly Action<string, Exception> _onFatal;
    private readonly Epoll _epoll = new();
    private readonly EventFd _commandEvent = new();
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly ulong[] _tokens = new ulong[MaxEvents];
    private readonly uint[] _events = new uint[MaxEvents];
    private readonly IReadOnlyList<DeviceEventSource> _sources;
    private readonly bool[] _queuePending;
    private long _pollTicks;
    private long _lastWaitTicks;
    private readonly ManualResetEventSlim _resumed = new(true);
    private readonly ManualResetEventSlim _parked = new(false);
    private Thread? _thread;
    private volatile bool _stopping;
    private volatile bool _pauseRequested;
    private int _fatal;

    /// <param name="onFatal">Called once, on the worker thread, if the thread itself fails; it then exits.</param>
    public VirtioDeviceWorker(VirtioTransportCore core, string name, ILogger? log, Action<string, Exception> onFatal)
    {
        _core = core;
        _name = name;
        _log = log ?? Serilog.Core.Logger.None;
        _onFatal = onFatal;
        _sources = core.Device.EventSources;
        _queuePending = new bool[core.QueueCount];
        try
        {
            _epoll.Add(_commandEvent.Fd, Epoll.In, CommandToken);
            for (int q = 0; q < core.QueueCount; q++)
                _epoll.Add(core.QueueEvent(q).Fd, Epoll.In, QueueToken(q));
            for (int s = 0; s < _sources.Count; s++)
                _epoll.Add(_sources[s].Fd, _sources[s].Events, SourceToken(s));
        }
        catch
        {
            Dispose();
            throw;
        }
        core.BindThread(this);
        core.HoldNotifications = true;
    }

    /// <summary>The current polling window in nanoseconds (0: the thread sleeps at once).</summary>
    public long PollWindowNs => _pollTicks * 1_000_000_000 / Stopwatch.Frequency;

    public string Name => _name;

    /// <summary>Test hook: runs before every wait; an exception from it is a failure of the thread.</summary>
    internal Action? BeforeWait { get; set; }

    private static ulong QueueToken(int q) => 1 + (ulong)q;
    private ulong SourceToken(int s) => 1 + (ulong)_queuePending.Length + (ulong)s;

    public void Post(Action work)
    {
        _commands.Enqueue(work);
        _commandEvent.Signal();
    }

    public void Start()
    {
        if (_thread is not null) throw new InvalidOperationException($"{_name}: the device thread is already running");
        _thread = new Thread(Run) { Name = _name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>
    /// Stops the thread and waits for it: the handler that is running (a request in host I/O)
    /// finishes, nothing new starts. Returns false if it did not stop within <paramref name="timeout"/>.
    /// </summary>
    public bool Stop(TimeSpan timeout)
    {
        var thread = _thread;
        if (thread is null) return true;
        _stopping = true;
        _resumed.Set();
        _commandEvent.Signal();
        if (!thread.Join(timeout)) return false;
        _thread = null;
        return true;
    }

    /// <summary>
    /// Parks the thread between two handlers (the device is quiescent: nothing in flight, nothing
    /// touching guest memory) and returns once it is parked, or false after <paramref name="timeout"/>.
    /// </summary>
    public bool Pause(TimeSpan timeout, bool quiesce = false)
    {
        if (_thread is null || _parked.IsSet)
        {
            // Not running, or parked between handlers already: nothing else touches the device.
            if (quiesce) _core.Quiesce();
            return true;
        }
        _resumed.Reset();
        _pauseRequested = true;
        // Quiescing runs on the device thread, right before it parks.
        if (quiesce) Post(_core.Quiesce);
        else _commandEvent.Signal();
        return _parked.Wait(timeout);
    }

    public void Resume()
    {
        _pauseRequested = false;
        _parked.Reset();
        _resumed.Set();
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                if (AnyPending())
                {
                    RunOnce(0);
                    continue;
                }
                if (_pollTicks > 0 && Poll()) continue;
                // Hand notifications back to the driver; buffers that came meanwhile are served first.
                if (_core.ArmNotifications(_queuePending)) continue;
                RunOnce(-1);
                AdaptPolling(_lastWaitTicks);
            }
        }
        catch (Exception e)
        {
            if (Interlocked.Exchange(ref _fatal, 1) == 0)
            {
                _log.Debug(e, "{Device}: device thread failed", _name);
                _onFatal(_name, e);
            }
        }
    }

    /// <summary>
    /// Watches the rings for up to the polling window; returns true when a queue got buffers or
    /// another event fired (it is marked pending or was served).
    /// </summary>
    private bool Poll()
    {
        long deadline = Stopwatch.GetTimestamp() + _pollTicks;
        for (int spins = 1; !_stopping; spins++)
        {
            if (_core.HeldQueuesHaveBuffers(_queuePending))
            {
                _core.Counters.PollHits.Increment();
                return true;
            }
            if (spins % SpinsPerCheck == 0)
            {
                if (RunOnce(0) > 0 || AnyPending()) return true;
                if (Stopwatch.GetTimestamp() >= deadline)
                {
                    _core.Counters.PollMisses.Increment();
                    return false;
                }
            }
            // The vCPU whose next request this waits for may share this CPU (two busy threads and
            // anything else on a small host): let it run rather than spin it out of its turn.
            if (spins % YieldEvery == 0) Thread.Yield();
            else Thread.SpinWait(1);
        }
        return false;
    }

    /// <summary>
    /// After a sleep of <paramref name="waitedTicks"/>: a sleep longer than the longest window would
    /// not have been saved by polling, so the window halves (below the smallest, to none); a shorter
    /// one would have, so it doubles (QEMU's adjust_polling_time, util/aio-posix.c).
    /// </summary>
    private void AdaptPolling(long waitedTicks)
    {
        if (waitedTicks <= _pollTicks) return;
        if (waitedTicks > MaxPollTicks)
        {
            _pollTicks /= 2;
            if (_pollTicks < MinPollTicks) _pollTicks = 0;
        }
        else if (_pollTicks < MaxPollTicks)
        {
            _pollTicks = _pollTicks == 0 ? MinPollTicks : Math.Min(_pollTicks * 2, MaxPollTicks);
        }
    }

    private bool AnyPending()
    {
        foreach (bool p in _queuePending) if (p) return true;
        return false;
    }

    /// <summary>
    /// One round: wait up to <paramref name="timeoutMs"/> (-1 = forever), run posted commands first
    /// (an activation must precede the kicks that follow it), then serve what fired and what was
    /// left pending. Returns the number of events. Tests call it directly instead of <see cref="Start"/>.
    /// </summary>
    public int RunOnce(int timeoutMs)
    {
        BeforeWait?.Invoke();
        long before = timeoutMs != 0 ? Stopwatch.GetTimestamp() : 0;
        int n = _epoll.Wait(_tokens, _events, timeoutMs);
        if (timeoutMs != 0) _lastWaitTicks = Stopwatch.GetTimestamp() - before;
        RunCommands();
        for (int i = 0; i < n; i++)
        {
            ulong token = _tokens[i];
            if (token == CommandToken) continue;
            ulong index = token - 1;
            if (index < (ulong)_queuePending.Length)
            {
                int q = (int)index;
                // Consume the kick before processing: a kick during processing re-arms the fd.
                if (_core.QueueEvent(q).Drain() == 0) continue;
                _core.CountNotification(q);
                _queuePending[q] = true;
            }
            else if (index - (ulong)_queuePending.Length < (ulong)_sources.Count)
            {
                // The device notes what fired (e.g. "the TAP has frames") and names the queue to run.
                int q = _core.DeviceEvent((int)(index - (ulong)_queuePending.Length), _events[i]);
                if ((uint)q < (uint)_queuePending.Length) _queuePending[q] = true;
            }
        }
        ServePending();
        return n;
    }

    private void ServePending()
    {
        for (int q = 0; q < _queuePending.Length; q++)
        {
            if (!_queuePending[q] || _stopping) continue;
            _queuePending[q] = _core.ProcessQueue(q);
            ParkIfAsked();
        }
    }

    private void RunCommands()
    {
        _commandEvent.Drain();
        while (_commands.TryDequeue(out var work)) work();
        ParkIfAsked();
    }

    private void ParkIfAsked()
    {
        if (!_pauseRequested || _stopping) return;
        // Parked is quiescent to the outside (a snapshot may be taken): notifications are armed in
        // guest memory, as whenever the thread sleeps, so state saved now needs no held request.
        _core.ArmNotifications(_queuePending);
        _parked.Set();
        _resumed.Wait();
    }

    public void Dispose()
    {
        Stop(Timeout.InfiniteTimeSpan);
        _epoll.Dispose();
        _commandEvent.Dispose();
        _resumed.Dispose();
        _parked.Dispose();
    }
}
