using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Csvmm.Vmm.Api.Http;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>The HTTP server against real clients on a real Unix socket.</summary>
public sealed class UnixSocketHttpServerTests : IDisposable
{
    private readonly TempFiles _files = new();
    private UnixSocketHttpServer? _server;
    private int _handled;

    private UnixSocketHttpServer StartServer(HttpLimits? limits = null, Func<HttpRequest, HttpResponse>? handler = null)
    {
        _server = new UnixSocketHttpServer(_files.Socket, handler ?? Echo, limits);
        _server.Start();
        return _server;
    }

    /// <summary>Answers {"method":..,"path":..,"body":N}; "/big" answers 64 KiB; "/throw" throws.</summary>
    private HttpResponse Echo(HttpRequest r)
    {
        Interlocked.Increment(ref _handled);
        if (r.Path == "/throw") throw new InvalidOperationException("handler bug");
        if (r.Path == "/big") return HttpResponse.Json(Encoding.ASCII.GetBytes("\"" + new string('b', 65536) + "\""));
        string json = $"{{\"method\":\"{HttpRequest.MethodName(r.Method)}\",\"path\":\"{r.Path}\",\"body\":{r.Body.Length}}}";
        return HttpResponse.Json(Encoding.ASCII.GetBytes(json));
    }

    public void Dispose()
    {
        _server?.Dispose();
        _files.Dispose();
    }

    [Fact]
    public void Socket_answers_as_soon_as_start_returns_and_stop_removes_it()
    {
        var server = StartServer();
        using (var c = new RawClient(_files.Socket))
        {
            c.Send("GET / HTTP/1.1\r\n\r\n");
            Assert.Equal(200, c.ReadResponse()!.Status);
        }
        server.Stop();
        Assert.False(File.Exists(_files.Socket));
    }

    [Fact]
    public void A_socket_path_that_exists_is_refused_with_firecrackers_message()
    {
        File.WriteAllText(_files.Socket, "");
        var server = new UnixSocketHttpServer(_files.Socket, Echo);
        var e = Assert.Throws<ApiSocketException>(server.Start);
        Assert.Equal($"Failed to open the API socket at: {_files.Socket}. Check that it is not already used.", e.Message);
        server.Dispose();
    }

    [Fact]
    public void Keep_alive_serves_several_requests_in_order_on_one_connection()
    {
        var server = StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send("GET /one HTTP/1.1\r\n\r\n");
        Assert.Contains("\"path\":\"/one\"", c.ReadResponse()!.Body);
        c.Send("PUT /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        var second = c.ReadResponse()!;
        Assert.Equal("keep-alive", second.Headers["connection"]);
        Assert.Contains("\"body\":3", second.Body);
        // Pipelined: three requests in one write, answered in order.
        c.Send("GET /a HTTP/1.1\r\n\r\nPATCH /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET /c HTTP/1.1\r\n\r\n");
        Assert.Contains("/a", c.ReadResponse()!.Body);
        Assert.Contains("\"method\":\"PATCH\",\"path\":\"/b\"", c.ReadResponse()!.Body);
        Assert.Contains("/c", c.ReadResponse()!.Body);
        Assert.Equal(1, server.ConnectionsAccepted);
        Assert.Equal(5, server.RequestsHandled);
    }

    [Fact]
    public async Task HttpClient_requests_share_one_kept_alive_connection()
    {
        var server = StartServer();
        using var http = UnixHttp.Client(_files.Socket);
        for (int i = 0; i < 5; i++)
        {
            using var response = await http.PutAsync($"/drives/d{i}", new StringContent("{}"));
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Contains($"\"path\":\"/drives/d{i}\",\"body\":2", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(1, server.ConnectionsAccepted);
    }

    [Fact]
    public void Response_head_is_firecrackers()
    {
        StartServer(handler: _ => HttpResponse.NoContent());
        using var c = new RawClient(_files.Socket);
        c.Send("PUT /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
        var r = c.ReadResponse()!;
        Assert.Equal(204, r.Status);
        Assert.Equal("Firecracker API", r.Headers["server"]);
        Assert.False(r.Headers.ContainsKey("content-length"));
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", "Invalid request line")]
    [InlineData("POST / HTTP/1.1\r\n\r\n", "Invalid HTTP Method")]
    [InlineData("GET / HTTP/9.9\r\n\r\n", "Invalid HTTP Version")]
    [InlineData("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "Transfer-Encoding is not supported")]
    [InlineData("PUT /x HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "bad Content-Length")]
    public void Malformed_http_gets_one_400_with_a_fault_message_and_the_connection_closes(string request, string messagePart)
    {
        var server = StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send(request);
        var r = c.ReadResponse()!;
        Assert.Equal(400, r.Status);
        Assert.Equal("close", r.Headers["connection"]);
        Assert.StartsWith("{\"fault_message\":", r.Body);
        Assert.Contains(messagePart, r.Body);
        Assert.True(c.ClosedByServer());
        Assert.Equal(0, _handled);
        Assert.Equal(1, server.MalformedRequests);
    }

    [Fact]
    public void An_oversized_body_is_refused_from_its_header_without_reading_it()
    {
        StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send("PUT /drives/rootfs HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
        var r = c.ReadResponse()!;
        Assert.Equal(400, r.Status);
        Assert.Contains("Request payload with size 1000000 is larger than the limit of 51200 allowed by server.", r.Body);
        Assert.True(c.ClosedByServer());
    }

    [Fact]
    public void Headers_over_the_limit_are_refused()
    {
        StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send("GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("X-Pad: 0123456789012345678901234567890123456789\r\n", 200)));
        var r = c.ReadResponse()!;
        Assert.Equal(400, r.Status);
        Assert.Contains("headers are larger than 8192 bytes", r.Body);
    }

    [Fact]
    public void A_slow_client_that_never_finishes_does_not_delay_another_client()
    {
        StartServer();
        using var slow = new RawClient(_files.Socket);
        slow.Send("PUT /drives/rootfs HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"drive_id\":");
        var clock = Stopwatch.StartNew();
        using var fast = new RawClient(_files.Socket);
        fast.Send("GET / HTTP/1.1\r\n\r\n");
        Assert.Equal(200, fast.ReadResponse()!.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the other client waited {clock.Elapsed}");
        Assert.Equal(1, _handled);
    }

    [Fact]
    public void A_request_not_completed_within_the_timeout_gets_a_400_and_is_closed()
    {
        var server = StartServer(HttpLimits.Default with { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        using var slow = new RawClient(_files.Socket);
        slow.Send("GET / HTT");
        var r = slow.ReadResponse()!;
        Assert.Equal(400, r.Status);
        Assert.Contains("The request was not completed within 0.3 s.", r.Body);
        Assert.True(slow.ClosedByServer());
        Assert.Equal(1, server.TimedOut);
    }

    [Fact]
    public void An_idle_keep_alive_connection_is_closed_after_the_idle_timeout()
    {
        StartServer(HttpLimits.Default with { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var c = new RawClient(_files.Socket);
        c.Send("GET / HTTP/1.1\r\n\r\n");
        Assert.Equal(200, c.ReadResponse()!.Status);
        Assert.True(c.ClosedByServer());
    }

    [Fact]
    public void When_every_slot_has_a_request_in_flight_a_new_client_gets_503_and_the_others_are_kept()
    {
        var server = StartServer(HttpLimits.Default with { MaxConnections = 4 });
        var busy = Enumerable.Range(0, 4).Select(_ => new RawClient(_files.Socket)).ToList();
        try
        {
            foreach (var b in busy) b.Send("GET / HT");
            WaitFor(() => server.OpenConnections == 4);
            using var extra = new RawClient(_files.Socket);
            var r = extra.ReadResponse()!;
            Assert.Equal(503, r.Status);
            Assert.Contains("Too many open connections", r.Body);
            Assert.True(extra.ClosedByServer());
            // The four keep their slot and are served once they finish.
            busy[0].Send("TP/1.1\r\n\r\n");
            Assert.Equal(200, busy[0].ReadResponse()!.Status);
            Assert.Equal(1, server.RefusedServerFull);
        }
        finally
        {
            foreach (var b in busy) b.Dispose();
        }
    }

    [Fact]
    public void Many_idle_keep_alive_clients_cannot_lock_out_a_new_one()
    {
        var server = StartServer(HttpLimits.Default with { MaxConnections = 4 });
        var idle = new List<RawClient>();
        try
        {
            for (int i = 0; i < 10; i++)
            {
                // Each client is served and then left open and idle, as a pooling HTTP client does.
                var c = new RawClient(_files.Socket);
                idle.Add(c);
                c.Send("GET / HTTP/1.1\r\n\r\n");
                Assert.Equal(200, c.ReadResponse()!.Status);
            }
            using var fresh = new RawClient(_files.Socket);
            fresh.Send("GET /fresh HTTP/1.1\r\n\r\n");
            Assert.Contains("/fresh", fresh.ReadResponse()!.Body);
            Assert.True(server.OpenConnections <= 4);
            Assert.Equal(7, server.EvictedIdle);
            Assert.True(idle[0].ClosedByServer(), "the longest-idle client was closed to make room");
        }
        finally
        {
            foreach (var c in idle) c.Dispose();
        }
    }

    [Fact]
    public void A_client_that_does_not_read_its_answers_is_not_read_from_and_does_not_block_others()
    {
        var server = StartServer(HttpLimits.Default with { WriteTimeout = TimeSpan.FromMilliseconds(500) });
        using var hog = new RawClient(_files.Socket);
        hog.Socket.ReceiveBufferSize = 4096;
        var requests = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("GET /big HTTP/1.1\r\n\r\n", 100)));
        hog.Socket.Send(requests);
        WaitFor(() => _handled >= 2);
        int handledWhileBlocked = _handled;
        using var other = new RawClient(_files.Socket);
        other.Send("GET /other HTTP/1.1\r\n\r\n");
        Assert.Contains("/other", other.ReadResponse()!.Body);
        // Back-pressure: the server stopped answering the hog long before its 100 requests.
        Assert.True(handledWhileBlocked < 50, $"{handledWhileBlocked} responses queued for a client that reads nothing");
        WaitFor(() => server.TimedOut == 1);
    }

    [Fact]
    public void Expect_100_continue_gets_an_interim_response_before_the_body_is_sent()
    {
        StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send("PUT /drives/x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        Assert.Equal(100, c.ReadResponse()!.Status);
        c.Send("12345");
        var r = c.ReadResponse()!;
        Assert.Equal(200, r.Status);
        Assert.Contains("\"body\":5", r.Body);
    }

    [Fact]
    public void A_client_that_shuts_down_its_side_after_a_request_still_gets_the_answer()
    {
        StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send("GET /half HTTP/1.1\r\n\r\n");
        c.Socket.Shutdown(SocketShutdown.Send);
        Assert.Contains("/half", c.ReadResponse()!.Body);
        Assert.True(c.ClosedByServer());
    }

    [Fact]
    public void Http_1_0_and_connection_close_are_answered_then_closed()
    {
        StartServer();
        using (var c = new RawClient(_files.Socket))
        {
            c.Send("GET /old HTTP/1.0\r\n\r\n");
            Assert.Equal("close", c.ReadResponse()!.Headers["connection"]);
            Assert.True(c.ClosedByServer());
        }
        using (var c = new RawClient(_files.Socket))
        {
            c.Send("GET /bye HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
            Assert.Contains("/bye", c.ReadResponse()!.Body);
            Assert.True(c.ClosedByServer());
        }
        Assert.Equal(2, _handled);
    }

    [Fact]
    public void A_failing_handler_costs_one_500_and_the_server_keeps_serving()
    {
        StartServer();
        using var c = new RawClient(_files.Socket);
        c.Send("GET /throw HTTP/1.1\r\n\r\n");
        var r = c.ReadResponse()!;
        Assert.Equal(500, r.Status);
        Assert.Contains("handler bug", r.Body);
        c.Send("GET /after HTTP/1.1\r\n\r\n");
        Assert.Contains("/after", c.ReadResponse()!.Body);
    }

    [Fact]
    public void Random_garbage_from_many_clients_never_stops_the_server()
    {
        StartServer(HttpLimits.Default with { RequestTimeout = TimeSpan.FromMilliseconds(200) });
        var random = new Random(42);
        for (int i = 0; i < 200; i++)
        {
            using var c = new RawClient(_files.Socket, receiveTimeoutMs: 3000);
            var junk = new byte[random.Next(1, 3000)];
            random.NextBytes(junk);
            try { c.Send(junk); } catch (SocketException) { }
        }
        using var probe = new RawClient(_files.Socket);
        probe.Send("GET /alive HTTP/1.1\r\n\r\n");
        Assert.Contains("/alive", probe.ReadResponse()!.Body);
    }

    private static void WaitFor(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException("condition not reached in 10 s");
            Thread.Sleep(10);
        }
    }
}
