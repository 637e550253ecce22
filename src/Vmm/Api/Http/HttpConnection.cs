using System.Net.Sockets;

namespace Csvmm.Vmm.Api.Http;

/// <summary>
/// One client of <see cref="UnixSocketHttpServer"/>: a non-blocking socket, the bytes received and
/// not yet consumed, the parser's progress and the response bytes not yet sent. Used only on the
/// server's thread. Buffers are allocated on first use and reused for every later request.
/// </summary>
internal sealed class HttpConnection : IDisposable
{
    private const int InitialInput = 4096;
    private const int InitialOutput = 1024;

    private readonly int _maxInput;
    private byte[] _input = [];
    private byte[] _output = [];
    private int _outputStart;
    private int _outputEnd;

    public HttpConnection(Socket socket, ulong token, HttpLimits limits, long nowMs)
    {
        Socket = socket;
        Fd = (int)socket.Handle;
        Token = token;
        Parser = new HttpRequestParser(limits);
        // The parser refuses a request before it can outgrow this: head + body at their limits.
        _maxInput = limits.MaxHeaderBytes + limits.MaxBodyBytes + 2;
        LastActivityMs = nowMs;
    }

    public Socket Socket { get; }

    public int Fd { get; }

    public ulong Token { get; }

    public HttpRequestParser Parser { get; }

    public int InputCount { get; private set; }

    public ReadOnlyMemory<byte> Input => _input.AsMemory(0, InputCount);

    public int OutputPending => _outputEnd - _outputStart;

    /// <summary>Close once the pending output is sent.</summary>
    public bool Closing { get; set; }

    /// <summary>The client shut down its sending side; nothing more will arrive.</summary>
    public bool PeerClosed { get; set; }

    /// <summary>The epoll events this connection is registered for.</summary>
    public uint Interest { get; set; }

    public long LastActivityMs { get; set; }

    /// <summary>When the first byte of the request being received arrived; -1 when none is pending.</summary>
    public long RequestStartedMs { get; set; } = -1;

    /// <summary>When output first could not be sent completely; -1 when none is pending.</summary>
    public long OutputBlockedSinceMs { get; set; } = -1;

    /// <summary>True when nothing is in flight: a candidate for eviction when the server is full.</summary>
    public bool IsIdle => InputCount == 0 && OutputPending == 0 && !Closing;

    public enum ReadResult { Data, WouldBlock, EndOfStream, Failed, BufferFull }

    /// <summary>One non-blocking receive into the free part of the input buffer.</summary>
    public ReadResult Read()
    {
        if (InputCount == _input.Length)
        {
            if (_input.Length >= _maxInput) return ReadResult.BufferFull;
            Array.Resize(ref _input, Math.Min(_maxInput, Math.Max(InitialInput, _input.Length * 2)));
        }
        int n = Socket.Receive(_input.AsSpan(InputCount), SocketFlags.None, out SocketError error);
        if (error == SocketError.WouldBlock) return ReadResult.WouldBlock;
        if (error != SocketError.Success) return ReadResult.Failed;
        if (n == 0) return ReadResult.EndOfStream;
        InputCount += n;
        return ReadResult.Data;
    }

    /// <summary>Drops the first <paramref name="count"/> input bytes (a request that was answered).</summary>
    public void Consume(int count)
    {
        int left = InputCount - count;
        if (left > 0) Buffer.BlockCopy(_input, count, _input, 0, left);
        InputCount = left;
    }

    public void DiscardInput() => InputCount = 0;

    /// <summary>Appends the status line, Firecracker's headers and the body to the output.</summary>
    public void Enqueue(HttpResponse response, bool keepAlive)
    {
        Append("HTTP/1.1 "u8);
        AppendNumber(response.StatusCode);
        Append(" "u8);
        AppendAscii(HttpResponse.ReasonPhrase(response.StatusCode));
        Append("\r\nServer: Firecracker API\r\n"u8);
        Append(keepAlive ? "Connection: keep-alive\r\n"u8 : "Connection: close\r\n"u8);
        if (response.Body is { } body)
        {
            Append("Content-Type: application/json\r\nContent-Length: "u8);
            AppendNumber(body.Length);
            Append("\r\n\r\n"u8);
            Append(body);
        }
        else
        {
            Append("\r\n"u8);
        }
    }

    /// <summary>The interim response to <c>Expect: 100-continue</c>.</summary>
    public void EnqueueContinue() => Append("HTTP/1.1 100 Continue\r\n\r\n"u8);

    /// <summary>Sends as much pending output as the socket takes; false when the socket failed.</summary>
    public bool Flush()
    {
        while (_outputStart < _outputEnd)
        {
            int n = Socket.Send(_output.AsSpan(_outputStart, _outputEnd - _outputStart), SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock) return true;
            if (error != SocketError.Success) return false;
            _outputStart += n;
        }
        _outputStart = _outputEnd = 0;
        return true;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_outputEnd + bytes.Length > _output.Length)
        {
            int live = _outputEnd - _outputStart;
            if (_outputStart > 0 && live + bytes.Length <= _output.Length)
            {
                Buffer.BlockCopy(_output, _outputStart, _output, 0, live);
            }
            else
            {
                var bigger = new byte[Math.Max(InitialOutput, Math.Max(_output.Length * 2, live + bytes.Length))];
                Buffer.BlockCopy(_output, _outputStart, bigger, 0, live);
                _output = bigger;
            }
            _outputStart = 0;
            _outputEnd = live;
        }
        bytes.CopyTo(_output.AsSpan(_outputEnd));
        _outputEnd += bytes.Length;
    }

    private void AppendNumber(int value)
    {
        Span<byte> digits = stackalloc byte[11];
        value.TryFormat(digits, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
        Append(digits[..written]);
    }

    private void AppendAscii(string text)
    {
        Span<byte> bytes = stackalloc byte[text.Length];
        for (int i = 0; i < text.Length; i++) bytes[i] = (byte)text[i];
        Append(bytes);
    }

    public void Dispose() => Socket.Dispose();
}
