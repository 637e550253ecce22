using System.Net.Sockets;
using System.Text;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>A raw socket client for sending exactly the bytes a test wants, malformed or slow.</summary>
public sealed class RawClient : IDisposable
{
    private readonly List<byte> _received = [];
    private readonly byte[] _buffer = new byte[8192];

    public RawClient(string socketPath, int receiveTimeoutMs = 10000)
    {
        Socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        Socket.ReceiveTimeout = receiveTimeoutMs;
    }

    public Socket Socket { get; }

    public void Send(string text) => Send(Encoding.ASCII.GetBytes(text));

    public void Send(ReadOnlySpan<byte> bytes) => Socket.Send(bytes);

    /// <summary>One response (head and Content-Length body); null when the server closed the connection first.</summary>
    public RawResponse? ReadResponse()
    {
        int headEnd;
        while ((headEnd = Find("\r\n\r\n"u8)) < 0)
            if (!Fill()) return null;
        string head = Encoding.ASCII.GetString(_received.GetRange(0, headEnd).ToArray());
        var lines = head.Split("\r\n");
        int status = int.Parse(lines[0].Split(' ')[1]);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        int length = headers.TryGetValue("content-length", out var cl) ? int.Parse(cl) : 0;
        int bodyStart = headEnd + 4;
        while (_received.Count < bodyStart + length)
            if (!Fill()) return null;
        string body = Encoding.UTF8.GetString(_received.GetRange(bodyStart, length).ToArray());
        _received.RemoveRange(0, bodyStart + length);
        return new RawResponse(status, headers, body);
    }

    /// <summary>True when the server closed the connection (a read returns end of stream) within the receive timeout.</summary>
    public bool ClosedByServer()
    {
        try
        {
            while (true)
                if (!Fill()) return true;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionReset;
        }
    }

    private bool Fill()
    {
        int n = Socket.Receive(_buffer);
        if (n == 0) return false;
        _received.AddRange(_buffer.AsSpan(0, n));
        return true;
    }

    private int Find(ReadOnlySpan<byte> pattern)
    {
        for (int i = 0; i + pattern.Length <= _received.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < pattern.Length && match; j++) match = _received[i + j] == pattern[j];
            if (match) return i;
        }
        return -1;
    }

    public void Dispose() => Socket.Dispose();
}
