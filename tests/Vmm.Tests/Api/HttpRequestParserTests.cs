using System.Text;
using Csvmm.Vmm.Api.Http;
using Xunit;

namespace Csvmm.Vmm.Tests.Api;

public sealed class HttpRequestParserTests
{
    private static readonly HttpLimits Limits = HttpLimits.Default;

    private static (HttpParseStatus Status, HttpRequestParser Parser, int Consumed) Parse(string text, HttpLimits? limits = null)
    {
        var parser = new HttpRequestParser(limits ?? Limits);
        var status = parser.Parse(Encoding.Latin1.GetBytes(text), out int consumed);
        return (status, parser, consumed);
    }

    private static void AssertRefused(string text, string messagePart, HttpLimits? limits = null)
    {
        var (status, parser, _) = Parse(text, limits);
        Assert.Equal(HttpParseStatus.Error, status);
        Assert.Contains(messagePart, parser.Error);
    }

    [Fact]
    public void Get_without_a_body_is_complete_with_its_path_and_keep_alive()
    {
        const string text = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
        var (status, parser, consumed) = Parse(text);
        Assert.Equal(HttpParseStatus.Complete, status);
        Assert.Equal(HttpMethodKind.Get, parser.Request.Method);
        Assert.Equal("/machine-config", parser.Request.Path);
        Assert.False(parser.Request.HasBody);
        Assert.True(parser.Request.KeepAlive);
        Assert.Equal(text.Length, consumed);
    }

    [Fact]
    public void Put_body_is_exactly_content_length_bytes_and_the_rest_is_left_for_the_next_request()
    {
        const string first = "PUT /actions HTTP/1.1\r\nContent-Length: 31\r\n\r\n{\"action_type\":\"InstanceStart\"}";
        var (status, parser, consumed) = Parse(first + "GET / HTTP/1.1\r\n\r\n");
        Assert.Equal(HttpParseStatus.Complete, status);
        Assert.Equal(HttpMethodKind.Put, parser.Request.Method);
        Assert.Equal("{\"action_type\":\"InstanceStart\"}", Encoding.ASCII.GetString(parser.Request.Body.Span));
        Assert.Equal(first.Length, consumed);
    }

    [Fact]
    public void A_request_arriving_one_byte_at_a_time_completes_only_with_its_last_byte()
    {
        byte[] all = Encoding.ASCII.GetBytes("PATCH /vm HTTP/1.1\r\nContent-Length: 18\r\n\r\n{\"state\":\"Paused\"}");
        var parser = new HttpRequestParser(Limits);
        for (int n = 1; n < all.Length; n++)
            Assert.Equal(HttpParseStatus.Incomplete, parser.Parse(all.AsMemory(0, n), out _));
        Assert.Equal(HttpParseStatus.Complete, parser.Parse(all, out int consumed));
        Assert.Equal(all.Length, consumed);
        Assert.Equal("/vm", parser.Request.Path);
    }

    [Fact]
    public void Bare_lf_line_endings_and_leading_empty_lines_are_accepted()
    {
        var (status, parser, _) = Parse("\r\n\nGET /version HTTP/1.1\nHost: x\n\n");
        Assert.Equal(HttpParseStatus.Complete, status);
        Assert.Equal("/version", parser.Request.Path);
    }

    [Fact]
    public void Absolute_form_targets_and_query_strings_reduce_to_the_path()
    {
        Assert.Equal("/drives/rootfs", Parse("GET http://localhost/drives/rootfs?x=1 HTTP/1.1\r\n\r\n").Parser.Request.Path);
        Assert.Equal("/", Parse("GET http://localhost HTTP/1.1\r\n\r\n").Parser.Request.Path);
    }

    [Theory]
    [InlineData("Connection: close", "HTTP/1.1", false)]
    [InlineData("Connection: keep-alive", "HTTP/1.0", true)]
    [InlineData("X-Other: 1", "HTTP/1.0", false)]
    [InlineData("Connection: Upgrade, Close", "HTTP/1.1", false)]
    public void Connection_header_and_version_decide_keep_alive(string header, string version, bool keepAlive) =>
        Assert.Equal(keepAlive, Parse($"GET / {version}\r\n{header}\r\n\r\n").Parser.Request.KeepAlive);

    [Theory]
    [InlineData("POST / HTTP/1.1\r\n\r\n", "Invalid HTTP Method")]
    [InlineData("get / HTTP/1.1\r\n\r\n", "Invalid HTTP Method")]
    [InlineData("GET / HTTP/2.0\r\n\r\n", "Invalid HTTP Version")]
    [InlineData("GET /\r\n\r\n", "Invalid request line")]
    [InlineData("GET  / HTTP/1.1\r\n\r\n", "Invalid request line")]
    [InlineData("GET / HTTP/1.1 extra\r\n\r\n", "Invalid HTTP Version")]
    [InlineData("GET drives HTTP/1.1\r\n\r\n", "Invalid URI")]
    [InlineData("GET /a\u0001b HTTP/1.1\r\n\r\n", "Invalid URI")]
    [InlineData("GET /\u00e9 HTTP/1.1\r\n\r\n", "Invalid URI")]
    [InlineData("\u0000\u0001\u0002\r\n\r\n", "Invalid request line")]
    public void Malformed_request_lines_are_refused(string text, string messagePart) => AssertRefused(text, messagePart);

    [Theory]
    [InlineData("Content-Length: abc", "bad Content-Length")]
    [InlineData("Content-Length: -1", "bad Content-Length")]
    [InlineData("Content-Length: 1, 1", "bad Content-Length")]
    [InlineData("Content-Length: 99999999999", "bad Content-Length")]
    [InlineData("Content-Length: 2\r\nContent-Length: 3", "two different Content-Length")]
    [InlineData("Transfer-Encoding: chunked", "Transfer-Encoding is not supported")]
    [InlineData("Transfer-Encoding: gzip, chunked", "Transfer-Encoding is not supported")]
    [InlineData("Host : localhost", "not a token")]
    [InlineData("Bad Name: x", "not a token")]
    [InlineData("NoColon", "expected NAME: VALUE")]
    [InlineData(": empty-name", "expected NAME: VALUE")]
    [InlineData("X: a\u0000b", "control character")]
    [InlineData("X: a\rb", "control character")]
    [InlineData("X: a\r\n folded", "obsolete line folding")]
    [InlineData("Expect: 200-ok", "100-continue")]
    public void Malformed_headers_are_refused(string header, string messagePart) =>
        AssertRefused($"PUT /logger HTTP/1.1\r\n{header}\r\n\r\n", messagePart);

    [Fact]
    public void Identical_repeated_content_length_is_accepted()
    {
        var (status, parser, _) = Parse("PUT /logger HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}");
        Assert.Equal(HttpParseStatus.Complete, status);
        Assert.Equal(2, parser.Request.Body.Length);
    }

    [Fact]
    public void Transfer_encoding_identity_is_accepted()
    {
        Assert.Equal(HttpParseStatus.Complete, Parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n").Status);
    }

    [Fact]
    public void A_request_line_longer_than_the_limit_is_refused_before_it_ends()
    {
        // No line end yet: the parser must not wait for one (and buffer) forever.
        AssertRefused("GET /" + new string('a', 1100), "request line is longer than 1024 bytes");
        AssertRefused("GET /" + new string('a', 1100) + " HTTP/1.1\r\n\r\n", "request line is longer than 1024 bytes");
    }

    [Fact]
    public void A_request_line_at_the_limit_is_accepted()
    {
        string target = "/" + new string('a', 1024 - "GET  HTTP/1.1".Length - 1);
        string line = $"GET {target} HTTP/1.1";
        Assert.Equal(1024, line.Length);
        Assert.Equal(HttpParseStatus.Complete, Parse(line + "\r\n\r\n").Status);
    }

    [Fact]
    public void Headers_larger_than_the_limit_are_refused_before_the_blank_line()
    {
        var text = new StringBuilder("GET / HTTP/1.1\r\n");
        while (text.Length < 9000) text.Append("X-Filler: 0123456789012345678901234567890123456789\r\n");
        AssertRefused(text.ToString(), "headers are larger than 8192 bytes");
    }

    [Fact]
    public void Endless_empty_lines_before_a_request_are_refused()
    {
        AssertRefused(string.Concat(Enumerable.Repeat("\r\n", 5000)), "headers are larger than 8192 bytes");
    }

    [Fact]
    public void Empty_lines_before_a_request_count_against_the_header_limit()
    {
        // Otherwise 8000 bytes of empty lines plus an 8 KiB head plus the largest body would
        // outgrow the connection's buffer (head limit + body limit) before the parser decides.
        string padding = string.Concat(Enumerable.Repeat("\r\n", 4000));
        AssertRefused(padding + "PUT /x HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("X-Pad: 0123456789\r\n", 20)) + "\r\n",
            "headers are larger than 8192 bytes");
    }

    [Fact]
    public void A_body_over_firecrackers_limit_is_refused_from_its_content_length_alone()
    {
        AssertRefused("PUT /drives/a HTTP/1.1\r\nContent-Length: 51201\r\n\r\n",
            "Request payload with size 51201 is larger than the limit of 51200 allowed by server.");
        var limits = HttpLimits.Default with { MaxBodyBytes = 10 };
        AssertRefused("PUT /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", "larger than the limit of 10", limits);
    }

    [Fact]
    public void A_body_at_firecrackers_limit_is_accepted()
    {
        string body = new('x', 51200);
        var (status, parser, _) = Parse($"PUT /x HTTP/1.1\r\nContent-Length: 51200\r\n\r\n{body}");
        Assert.Equal(HttpParseStatus.Complete, status);
        Assert.Equal(51200, parser.Request.Body.Length);
    }

    [Fact]
    public void Expect_100_continue_asks_for_an_interim_response_once_while_the_body_is_missing()
    {
        var parser = new HttpRequestParser(Limits);
        byte[] head = Encoding.ASCII.GetBytes("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        Assert.Equal(HttpParseStatus.Incomplete, parser.Parse(head, out _));
        Assert.True(parser.TakeContinue());
        Assert.False(parser.TakeContinue());
        byte[] all = [.. head, .. "{}"u8];
        Assert.Equal(HttpParseStatus.Complete, parser.Parse(all, out _));
    }

    [Fact]
    public void Expect_100_continue_from_an_http_1_0_client_is_ignored()
    {
        var parser = new HttpRequestParser(Limits);
        parser.Parse(Encoding.ASCII.GetBytes("PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"), out _);
        Assert.False(parser.TakeContinue());
    }

    [Fact]
    public void Reset_makes_the_parser_ready_for_the_next_request()
    {
        var parser = new HttpRequestParser(Limits);
        Assert.Equal(HttpParseStatus.Error, parser.Parse("BAD\r\n\r\n"u8.ToArray(), out _));
        parser.Reset();
        Assert.Null(parser.Error);
        Assert.Equal(HttpParseStatus.Complete, parser.Parse("GET / HTTP/1.1\r\n\r\n"u8.ToArray(), out _));
    }

    [Fact]
    public void Random_bytes_never_throw_and_never_claim_more_than_they_got()
    {
        var random = new Random(15);
        var parser = new HttpRequestParser(HttpLimits.Default with { MaxHeaderBytes = 512, MaxBodyBytes = 64 });
        for (int i = 0; i < 20000; i++)
        {
            var bytes = new byte[random.Next(0, 700)];
            random.NextBytes(bytes);
            var prefix = "PUT /a HTTP/1.1\r\nContent-Length: 5\r\n"u8;
            if (i % 2 == 0) prefix[..Math.Min(bytes.Length, prefix.Length)].CopyTo(bytes);
            parser.Reset();
            var status = parser.Parse(bytes, out int consumed);
            Assert.InRange(consumed, 0, bytes.Length);
            if (status == HttpParseStatus.Complete) Assert.InRange(parser.Request.Body.Length, 0, 64);
            if (status == HttpParseStatus.Error) Assert.False(string.IsNullOrEmpty(parser.Error));
        }
    }
}
