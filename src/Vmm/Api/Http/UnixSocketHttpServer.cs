using System.Net.Sockets;
using Csvmm.Host.Events;
using Serilog;

namespace Csvmm.Vmm.Api.Http;

/// <summary>
/// The API's HTTP/1.1 server on a Unix socket: one thread ("fc_api", Firecracker's name for its API
/// thread) running an epoll loop over the listening socket, a stop eventfd and up to
/// <see cref="HttpLimits.MaxConnections"/> non-blocking client sockets. Requests are parsed
/// incrementally, answered in order per connection and handled one at a time by the handler (as
/// Firecracker's API thread hands one request at a time to its VMM thread). Nothing a client does
/// blocks the thread: a client that sends slowly only holds its own buffer until its request
/// timeout, a client that does not read its responses is not read from (back-pressure) until its
/// write timeout, malformed input gets one 400 and the connection is closed. The VM's own threads
/// never run here.
/// </summary>
public sealed class UnixSocketHttpServer : IDisposable
{
    private const ulong StopToken = 0;
    private const ulong ListenerToken = 1;
    private const int MaxEvents = 16;

    /// <summary>EPOLLRDHUP (include/uapi/linux/eventpoll.h): the peer shut down its writing side.</summary>
    private const uint ReadHangUp = 0x2000;

    private readonly string _path;
    private readonly Func<HttpRequest, HttpResponse> _handler;
    private readonly HttpLimits _limits;
    private readonly ILogger _log;
    private readonly Epoll _epoll = new();
    private readonly EventFd _stop = new();
    private readonly HttpConnection?[] _slots;
    private readonly ulong[] _tokens = new ulong[MaxEvents];
    private readonly uint[] _events = new uint[MaxEvents];
    private Socket? _listener;
    private Thread? _thread;
    private uint _generation;
    private volatile bool _stopping;

    public UnixSocketHttpServer(string socketPath, Func<HttpRequest, HttpResponse> handler, HttpLimits? limits = null, ILogger? log = null)
    {
        _path = socketPath;
        _handler = handler;
        _limits = limits ?? HttpLimits.Default;
        _log = log ?? Serilog.Core.Logger.None;
        _slots = new HttpConnection?[_limits.MaxConnections];
    }

    public string SocketPath => _path;

    private long _connectionsAccepted;
    private long _requestsHandled;
    private long _malformedRequests;
    private long _timedOut;
    private long _refusedServerFull;
    private long _evictedIdle;

    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    public long RequestsHandled => Interlocked.Read(ref _requestsHandled);

    /// <summary>Requests answered with a 400 and a closed connection because they could not be parsed.</summary>
    public long MalformedRequests => Interlocked.Read(ref _malformedRequests);

    /// <summary>Connections closed by a request, idle or write timeout.</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);

    /// <summary>Connections answered 503 because every slot had a request in flight.</summary>
    public long RefusedServerFull => Interlocked.Read(ref _refusedServerFull);

    /// <summary>Idle keep-alive connections closed to make room for a new one.</summary>
    public long EvictedIdle => Interlocked.Read(ref _evictedIdle);

    /// <summary>Number of client connections open right now (read on the server thread or after Stop).</summary>
    public int OpenConnections => _slots.Count(s => s is not null);

    /// <summary>
    /// Binds and listens (so the socket answers as soon as this returns), then starts the thread.
    /// Like Firecracker, refuses a path that already exists.
    /// </summary>
    public void Start()
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(_path));
            listener.Listen(_limits.MaxConnections * 2);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new ApiSocketException(e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"Failed to open the API socket at: {_path}. Check that it is not already used."
                : $"Failed to open the API socket at: {_path}: {e.Message}");
        }
        listener.Blocking = false;
        _listener = listener;
        _epoll.Add(_stop.Fd, Epoll.In, StopToken);
        _epoll.Add((int)listener.Handle, Epoll.In, ListenerToken);
        _thread = new Thread(Run) { IsBackground = true, Name = "fc_api" };
        _thread.Start();
    }

    /// <summary>Stops the thread, closes every connection and removes the socket file.</summary>
    public void Stop()
    {
        if (_thread is null) return;
        _stopping = true;
        _stop.Signal();
        _thread.Join();
        _thread = null;
        foreach (var c in _slots)
            c?.Dispose();
        Array.Clear(_slots);
        _listener?.Dispose();
        _listener = null;
        try { File.Delete(_path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public void Dispose()
    {
        Stop();
        _listener?.Dispose();
        _epoll.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        while (!_stopping)
        {
            int n;
            try
            {
                n = _epoll.Wait(_tokens, _events, NextTimeoutMs());
            }
            catch (Exception e)
            {
                _log.Error("API server: epoll_wait failed, the API stops answering: {Message}", e.Message);
                return;
            }
            for (int i = 0; i < n && !_stopping; i++)
            {
                ulong token = _tokens[i];
                if (token == StopToken) return;
                try
                {
                    if (token == ListenerToken) Accept();
                    else if (Find(token) is { } c) OnEvents(c, _events[i]);
                }
                catch (Exception e)
                {
                    // Nothing a client sends should get here; if something does, the client loses
                    // its connection and the API keeps serving everyone else.
                    _log.Warning("API server: dropped a connection after an internal error: {Message}", e.Message);
                    if (token != ListenerToken && Find(token) is { } broken) Close(broken);
                }
            }
            ExpireDeadlines(Environment.TickCount64);
        }
    }

    private HttpConnection? Find(ulong token)
    {
        int slot = (int)(token & 0xFFFF) - 2;
        return (uint)slot < (uint)_slots.Length && _slots[slot] is { } c && c.Token == token ? c : null;
    }

    private void Accept()
    {
        Socket client;
        try
        {
            client = _listener!.Accept();
        }
        catch (SocketException)
        {
            return; // the client went away before we took it, or nothing was pending
        }
        long now = Environment.TickCount64;
        Interlocked.Increment(ref _connectionsAccepted);
        client.Blocking = false;
        int slot = Array.IndexOf(_slots, null);
        if (slot < 0)
        {
            // Full: make room by closing the connection that has been idle longest (a keep-alive
            // client that will reconnect); when every slot is busy with a request, refuse this one
            // as micro_http does (503, "Too many open connections").
            HttpConnection? idlest = null;
            foreach (var c in _slots)
                if (c!.IsIdle && (idlest is null || c.LastActivityMs < idlest.LastActivityMs))
                    idlest = c;
            if (idlest is null)
            {
                Interlocked.Increment(ref _refusedServerFull);
                RefuseFull(client);
                return;
            }
            Interlocked.Increment(ref _evictedIdle);
            slot = (int)(idlest.Token & 0xFFFF) - 2;
            Close(idlest);
        }
        ulong token = ((ulong)++_generation << 16) | (uint)(slot + 2);
        var connection = new HttpConnection(client, token, _limits, now);
        _slots[slot] = connection;
        connection.Interest = Epoll.In | ReadHangUp;
        _epoll.Add(connection.Fd, connection.Interest, token);
    }

    private static void RefuseFull(Socket client)
    {
        var response = new HttpResponse(HttpResponse.ServiceUnavailable, HttpResponse.FaultBody("Too many open connections"));
        using var c = new HttpConnection(client, 0, HttpLimits.Default, 0);
        c.Enqueue(response, keepAlive: false);
        c.Flush();
    }

    private void OnEvents(HttpConnection c, uint events)
    {
        long now = Environment.TickCount64;
        if ((events & Epoll.Err) != 0)
        {
            Close(c);
            return;
        }
        if ((events & (Epoll.In | ReadHangUp | Epoll.Hup)) != 0 && !c.PeerClosed && c.Interest != Epoll.Out)
        {
            switch (c.Read())
            {
                case HttpConnection.ReadResult.Data:
                    c.LastActivityMs = now;
                    if (c.RequestStartedMs < 0) c.RequestStartedMs = now;
                    break;
                case HttpConnection.ReadResult.EndOfStream:
                    c.PeerClosed = true;
                    break;
                case HttpConnection.ReadResult.Failed:
                    Close(c);
                    return;
            }
        }
        Serve(c, now);
    }

    /// <summary>
    /// Sends what is pending and answers the complete requests in the input, in order, one at a
    /// time; stops while the client is not taking its answers (back-pressure), then waits for
    /// output space, more input, or closes.
    /// </summary>
    private void Serve(HttpConnection c, long now)
    {
        while (true)
        {
            if (!c.Flush())
            {
                Close(c);
                return;
            }
            if (c.OutputPending > 0)
            {
                if (c.OutputBlockedSinceMs < 0) c.OutputBlockedSinceMs = now;
                SetInterest(c, Epoll.Out);
                return;
            }
            c.OutputBlockedSinceMs = -1;
            if (c.Closing)
            {
                Close(c);
                return;
            }
            if (c.InputCount == 0 || !AnswerNext(c, now)) break;
        }
        if (c.PeerClosed)
        {
            // Nothing more will arrive: whatever is left is a request the client never finished.
            Close(c);
            return;
        }
        SetInterest(c, Epoll.In | ReadHangUp);
    }

    /// <summary>Parses the next request and queues its answer; false when more bytes are needed first.</summary>
    private bool AnswerNext(HttpConnection c, long now)
    {
        var status = c.Parser.Parse(c.Input, out int consumed);
        if (status == HttpParseStatus.Incomplete)
        {
            if (!c.Parser.TakeContinue()) return false;
            c.EnqueueContinue();
            return true;
        }
        if (status == HttpParseStatus.Error)
        {
            Interlocked.Increment(ref _malformedRequests);
            _log.Debug("API server: malformed request: {Error}", c.Parser.Error);
            c.Enqueue(HttpResponse.Fault(c.Parser.Error!), keepAlive: false);
            c.DiscardInput();
            c.Closing = true;
            return true;
        }

        var request = c.Parser.Request;
        HttpResponse response;
        try
        {
            response = _handler(request);
        }
        catch (Exception e)
        {
            _log.Warning("API server: the handler failed on {Request}: {Message}", request.ToString(), e.Message);
            response = HttpResponse.Fault($"Internal error: {e.Message}", HttpResponse.InternalServerError);
        }
        Interlocked.Increment(ref _requestsHandled);
        bool keepAlive = request.KeepAlive && !response.CloseConnection;
        c.Enqueue(response, keepAlive);
        c.Consume(consumed);
        c.Parser.Reset();
        c.RequestStartedMs = c.InputCount > 0 ? now : -1;
        if (!keepAlive) c.Closing = true;
        return true;
    }

    private void SetInterest(HttpConnection c, uint interest)
    {
        if (c.Interest == interest) return;
        _epoll.Modify(c.Fd, interest, c.Token);
        c.Interest = interest;
    }

    private int NextTimeoutMs()
    {
        long now = Environment.TickCount64, next = long.MaxValue;
        foreach (var c in _slots)
            if (c is not null) next = Math.Min(next, Deadline(c));
        if (next == long.MaxValue) return -1;
        return (int)Math.Clamp(next - now, 0, int.MaxValue);
    }

    private long Deadline(HttpConnection c)
    {
        if (c.OutputBlockedSinceMs >= 0) return c.OutputBlockedSinceMs + (long)_limits.WriteTimeout.TotalMilliseconds;
        if (c.RequestStartedMs >= 0) return c.RequestStartedMs + (long)_limits.RequestTimeout.TotalMilliseconds;
        return c.LastActivityMs + (long)_limits.IdleTimeout.TotalMilliseconds;
    }

    private void ExpireDeadlines(long now)
    {
        foreach (var c in _slots)
        {
            if (c is null || Deadline(c) > now) continue;
            Interlocked.Increment(ref _timedOut);
            if (c.OutputBlockedSinceMs < 0 && c.RequestStartedMs >= 0)
            {
                // A request that never completed: say why before closing (best effort, the
                // client may not be reading).
                _log.Debug("API server: a request was not completed within {Seconds} s", _limits.RequestTimeout.TotalSeconds);
                c.Enqueue(HttpResponse.Fault($"The request was not completed within {_limits.RequestTimeout.TotalSeconds:0.###} s."), keepAlive: false);
                c.Flush();
            }
            Close(c);
        }
    }

    private void Close(HttpConnection c)
    {
        int slot = (int)(c.Token & 0xFFFF) - 2;
        if ((uint)slot < (uint)_slots.Length && ReferenceEquals(_slots[slot], c)) _slots[slot] = null;
        try { _epoll.Remove(c.Fd); } catch (Exception) { /* already gone with the socket */ }
        c.Dispose();
    }
}
