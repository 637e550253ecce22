using Csvmm.Host.Events;
using Csvmm.Kvm;
using Serilog;

namespace Csvmm.Devices.Virtio;

/// <summary>
/// The virtio I/O thread: one epoll over every queue eventfd of every registered transport (plus a
/// stop eventfd and any extra fds such as a TAP device). Device work runs on this thread only.
/// <see cref="Start"/>/<see cref="Stop"/> run it on its own thread; tests call <see cref="RunOnce"/>.
/// </summary>
public sealed class VirtioEventLoop : IDisposable
{
    private const ulong StopToken = 0;
    private const int MaxEvents = 64;

    private readonly Epoll _epoll = new();
    private readonly EventFd _stop = new();
    private readonly Lock _registration = new();
    private readonly ILogger _log;
    private readonly ulong[] _tokens = new ulong[MaxEvents];
    private readonly uint[] _events = new uint[MaxEvents];
    private Handler[] _handlers = [];
    private Thread? _thread;
    private volatile bool _stopping;
    private long _loopErrors;

    private sealed record Handler(int Fd, VirtioMmioTransport? Transport, int QueueIndex, Action<uint>? Callback);

    public VirtioEventLoop(ILogger? log = null)
    {
        _log = log ?? Serilog.Core.Logger.None;
        _epoll.Add(_stop.Fd, Epoll.In, StopToken);
    }

    /// <summary>Exceptions caught from fd callbacks (queue processing never throws).</summary>
    public long LoopErrors => Interlocked.Read(ref _loopErrors);

    /// <summary>Watches every queue eventfd of <paramref name="transport"/>; a kick runs its ProcessQueue here.</summary>
    public void Add(VirtioMmioTransport transport)
    {
        for (int i = 0; i < transport.QueueCount; i++)
            AddHandler(new Handler(transport.QueueEvent(i).Fd, transport, i, null), Epoll.In);
    }

    /// <summary>
    /// Watches an extra fd (e.g. a TAP device); <paramref name="callback"/> gets the epoll event mask
    /// and runs on the I/O thread. Level-triggered unless <paramref name="events"/> has EdgeTriggered.
    /// </summary>
    public void AddFd(int fd, uint events, Action<uint> callback) => AddHandler(new Handler(fd, null, 0, callback), events);

    /// <summary>Stops watching an fd added with <see cref="AddFd"/>.</summary>
    public void RemoveFd(int fd)
    {
        lock (_registration)
        {
            _epoll.Remove(fd);
            var handlers = (Handler[])_handlers.Clone();
            for (int i = 0; i < handlers.Length; i++)
                if (handlers[i]?.Fd == fd) handlers[i] = null!;
            Volatile.Write(ref _handlers, handlers);
        }
    }

    private void AddHandler(Handler handler, uint events)
    {
        lock (_registration)
        {
            var handlers = new Handler[_handlers.Length + 1];
            _handlers.CopyTo(handlers, 0);
            handlers[^1] = handler;
            // Publish the handler before the fd can fire.
            Volatile.Write(ref _handlers, handlers);
            _epoll.Add(handler.Fd, events, (ulong)handlers.Length); // token = index + 1; 0 is the stop fd
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1 = forever) and dispatches what fired; returns the number of events.</summary>
    public int RunOnce(int timeoutMs)
    {
        int n = _epoll.Wait(_tokens, _events, timeoutMs);
        var handlers = Volatile.Read(ref _handlers);
        for (int i = 0; i < n; i++)
        {
            ulong token = _tokens[i];
            if (token == StopToken)
            {
                _stop.Drain();
                continue;
            }
            if (token > (ulong)handlers.Length) continue;
            var h = handlers[token - 1];
            if (h is null) continue;
            if (h.Transport is { } t)
            {
                // Consume the kick before processing: a kick arriving during processing re-arms the fd.
                if (t.QueueEvent(h.QueueIndex).Drain() == 0) continue;
                t.CountNotification(h.QueueIndex);
                t.ProcessQueue(h.QueueIndex);
            }
            else
            {
                try
                {
                    h.Callback!(_events[i]);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref _loopErrors);
                    _log.Error(e, "virtio I/O thread: handler for fd {Fd} failed", h.Fd);
                }
            }
        }
        return n;
    }

    /// <summary>Starts the I/O thread.</summary>
    public void Start()
    {
        if (_thread is not null) throw new InvalidOperationException("the virtio I/O thread is already running");
        _stopping = false;
        _thread = new Thread(Run) { Name = "virtio-io", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Stops the I/O thread and waits for it; requests in flight complete first.</summary>
    public void Stop()
    {
        var thread = _thread;
        if (thread is null) return;
        _stopping = true;
        _stop.Signal();
        thread.Join();
        _thread = null;
    }

    private void Run()
    {
        while (!_stopping)
        {
            try
            {
                RunOnce(-1);
            }
            catch (Exception e)
            {
                // epoll_wait failing is not something to spin on.
                Interlocked.Increment(ref _loopErrors);
                _log.Fatal(e, "virtio I/O thread stopped");
                return;
            }
        }
    }

    public void Dispose()
    {
        Stop();
        _epoll.Dispose();
        _stop.Dispose();
    }
}
