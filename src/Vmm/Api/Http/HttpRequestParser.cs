using System.Text;

namespace Csvmm.Vmm.Api.Http;

/// <summary>
/// An incremental HTTP/1.1 request parser (RFC 9112) for one connection. The caller keeps the
/// received bytes in one buffer and calls <see cref="Parse"/> after every read with all bytes not
/// yet consumed; the parser remembers how far it has looked, so a client that sends one byte at a
/// time costs linear work. It accepts what the Firecracker API needs and refuses the rest:
/// <list type="bullet">
/// <item>methods GET, PUT, PATCH, DELETE (micro_http's set); HTTP/1.0 and HTTP/1.1;</item>
/// <item>origin-form targets (<c>/drives/rootfs</c>) and absolute-form (<c>http://localhost/drives/rootfs</c>);</item>
/// <item>bodies by Content-Length only: Transfer-Encoding other than identity is refused, as is a
///   Content-Length that is not plain digits, that appears twice with different values, or that
///   exceeds <see cref="HttpLimits.MaxBodyBytes"/>;</item>
/// <item>Connection: close / keep-alive, and Expect: 100-continue;</item>
/// <item>lines end in CRLF or a bare LF (RFC 9112 §2.2); leading empty lines are skipped; obs-fold,
///   control characters, whitespace before a header colon and bad header names are refused
///   (RFC 9112 §5.1, §5.2).</item>
/// </list>
/// Any refusal is final for the connection: the byte stream can no longer be framed, so the server
/// answers one 400 and closes.
/// </summary>
public sealed class HttpRequestParser
{
    private readonly HttpLimits _limits;
    private readonly HttpRequest _request = new();

    // Where the request line starts (after skipped empty lines) and where the next line to scan
    // starts; -1 until the request line is found.
    private int _requestStart;
    private int _nextLine;
    private bool _sawRequestLine;
    private int _headEnd = -1;
    private int _contentLength;
    private bool _expectContinue;
    private bool _continueSent;
    private bool _http10;

    public HttpRequestParser(HttpLimits limits) => _limits = limits;

    /// <summary>Why the last <see cref="Parse"/> returned <see cref="HttpParseStatus.Error"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>The request of the last <see cref="HttpParseStatus.Complete"/> (reused between requests).</summary>
    public HttpRequest Request => _request;

    /// <summary>True while the head of a request has been parsed and its body is still awaited.</summary>
    public bool AwaitingBody => _headEnd >= 0;

    /// <summary>
    /// True once per request when the client asked for <c>Expect: 100-continue</c> and its body has
    /// not arrived yet: the server should send an interim 100 response now (RFC 9110 §10.1.1).
    /// </summary>
    public bool TakeContinue()
    {
        if (!_expectContinue || _continueSent || _headEnd < 0) return false;
        _continueSent = true;
        return true;
    }

    /// <summary>Forgets the current request; call after Complete (and after consuming its bytes).</summary>
    public void Reset()
    {
        _requestStart = 0;
        _nextLine = 0;
        _sawRequestLine = false;
        _headEnd = -1;
        _contentLength = 0;
        _expectContinue = false;
        _continueSent = false;
        Error = null;
    }

    /// <summary>
    /// Looks at <paramref name="data"/>, the unconsumed bytes of the connection (the same prefix
    /// as the previous call, possibly longer). On Complete, <paramref name="consumed"/> is the
    /// length of the request including its body, and <see cref="Request"/> holds it; its body
    /// points into <paramref name="data"/>.
    /// </summary>
    public HttpParseStatus Parse(ReadOnlyMemory<byte> data, out int consumed)
    {
        consumed = 0;
        if (_headEnd < 0)
        {
            var status = FindHeadEnd(data.Span);
            if (status != HttpParseStatus.Complete) return status;
            if (!ParseHead(data.Span[_requestStart.._headEnd])) return HttpParseStatus.Error;
        }

        long total = (long)_headEnd + _contentLength;
        if (data.Length < total) return HttpParseStatus.Incomplete;
        _request.Body = data.Slice(_headEnd, _contentLength);
        consumed = (int)total;
        return HttpParseStatus.Complete;
    }

    private HttpParseStatus FindHeadEnd(ReadOnlySpan<byte> data)
    {
        while (true)
        {
            int lf = data[_nextLine..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (!_sawRequestLine && data.Length - _nextLine > _limits.MaxRequestLineBytes + 1)
                    return Fail($"The request line is longer than {_limits.MaxRequestLineBytes} bytes.");
                // Every limit counts from the first byte, skipped empty lines included, so that a
                // request never outgrows MaxHeaderBytes + MaxBodyBytes (the connection's buffer).
                if (data.Length > _limits.MaxHeaderBytes)
                    return Fail($"The request headers are larger than {_limits.MaxHeaderBytes} bytes.");
                return HttpParseStatus.Incomplete;
            }
            int lineEnd = _nextLine + lf;
            bool empty = lineEnd == _nextLine || (lineEnd == _nextLine + 1 && data[_nextLine] == (byte)'\r');
            int next = lineEnd + 1;
            if (!_sawRequestLine)
            {
                if (empty)
                {
                    // RFC 9112 §2.2: ignore empty lines before the request line; they still count
                    // against the header limit so a client cannot stream them forever.
                    _requestStart = _nextLine = next;
                    if (_requestStart > _limits.MaxHeaderBytes)
                        return Fail($"The request headers are larger than {_limits.MaxHeaderBytes} bytes.");
                    continue;
                }
                if (lineEnd - _nextLine > _limits.MaxRequestLineBytes + 1)
                    return Fail($"The request line is longer than {_limits.MaxRequestLineBytes} bytes.");
                _sawRequestLine = true;
            }
            else if (empty)
            {
                _headEnd = next;
                if (_headEnd > _limits.MaxHeaderBytes)
                    return Fail($"The request headers are larger than {_limits.MaxHeaderBytes} bytes.");
                return HttpParseStatus.Complete;
            }
            _nextLine = next;
            if (_nextLine > _limits.MaxHeaderBytes)
                return Fail($"The request headers are larger than {_limits.MaxHeaderBytes} bytes.");
        }
    }

    /// <summary>Parses the request line and the header lines of <paramref name="head"/> (which ends with the blank line).</summary>
    private bool ParseHead(ReadOnlySpan<byte> head)
    {
        int lf = head.IndexOf((byte)'\n');
        if (!ParseRequestLine(TrimCr(head[..lf]))) return false;

        long contentLength = -1;
        var rest = head[(lf + 1)..];
        while (true)
        {
            lf = rest.IndexOf((byte)'\n');
            var line = TrimCr(rest[..lf]);
            rest = rest[(lf + 1)..];
            if (line.IsEmpty) break;
            if (!ParseHeaderLine(line, ref contentLength)) return false;
        }
        if (contentLength > _limits.MaxBodyBytes)
        {
            FailBool($"Request payload with size {contentLength} is larger than the limit of {_limits.MaxBodyBytes} allowed by server.");
            return false;
        }
        _contentLength = (int)Math.Max(contentLength, 0);
        if (_contentLength == 0) _expectContinue = false;
        return true;
    }

    private bool ParseRequestLine(ReadOnlySpan<byte> line)
    {
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0) return FailBool("Invalid request line: expected METHOD TARGET HTTP/1.1.");
        var method = line[..sp1];
        var afterMethod = line[(sp1 + 1)..];
        int sp2 = afterMethod.IndexOf((byte)' ');
        if (sp2 <= 0) return FailBool("Invalid request line: expected METHOD TARGET HTTP/1.1.");
        var target = afterMethod[..sp2];
        var version = afterMethod[(sp2 + 1)..];

        if (method.SequenceEqual("GET"u8)) _request.Method = HttpMethodKind.Get;
        else if (method.SequenceEqual("PUT"u8)) _request.Method = HttpMethodKind.Put;
        else if (method.SequenceEqual("PATCH"u8)) _request.Method = HttpMethodKind.Patch;
        else if (method.SequenceEqual("DELETE"u8)) _request.Method = HttpMethodKind.Delete;
        else return FailBool("Invalid HTTP Method: Unsupported HTTP method.");

        _http10 = version.SequenceEqual("HTTP/1.0"u8);
        if (version.SequenceEqual("HTTP/1.1"u8)) _request.KeepAlive = true;
        else if (_http10) _request.KeepAlive = false;
        else return FailBool("Invalid HTTP Version: Unsupported HTTP version.");

        return ParseTarget(target);
    }

    private bool ParseTarget(ReadOnlySpan<byte> target)
    {
        foreach (byte b in target)
            if (b is <= 0x20 or >= 0x7F)
                return FailBool("Invalid URI: the target contains a space or a non-ASCII character.");

        if (target[0] != (byte)'/')
        {
            // Absolute form (RFC 9112 §3.2.2): scheme "://" authority path.
            int scheme = target.IndexOf("://"u8);
            if (scheme <= 0) return FailBool("Invalid URI: expected a path starting with '/'.");
            var afterAuthority = target[(scheme + 3)..];
            int slash = afterAuthority.IndexOf((byte)'/');
            target = slash < 0 ? "/"u8 : afterAuthority[slash..];
        }
        int cut = target.IndexOfAny((byte)'?', (byte)'#');
        if (cut >= 0) target = target[..cut];
        _request.Path = System.Text.Encoding.ASCII.GetString(target);
        return true;
    }

    private bool ParseHeaderLine(ReadOnlySpan<byte> line, ref long contentLength)
    {
        if (line[0] is (byte)' ' or (byte)'\t')
            return FailBool("Invalid header: obsolete line folding is not accepted.");
        int colon = line.IndexOf((byte)':');
        if (colon <= 0) return FailBool("Invalid header: expected NAME: VALUE.");
        var name = line[..colon];
        foreach (byte b in name)
            if (!IsTokenChar(b)) return FailBool("Invalid header: the name is not a token.");
        var value = TrimWhitespace(line[(colon + 1)..]);
        foreach (byte b in value)
            if (b != (byte)'\t' && (b < 0x20 || b == 0x7F))
                return FailBool("Invalid header: the value contains a control character.");

        if (name.Length == "Content-Length".Length && Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
        {
            long parsed = 0;
            if (value.IsEmpty || value.Length > 10) return FailBool("Invalid header: bad Content-Length.");
            foreach (byte b in value)
            {
                if (b is < (byte)'0' or > (byte)'9') return FailBool("Invalid header: bad Content-Length.");
                parsed = parsed * 10 + (b - '0');
            }
            if (contentLength >= 0 && contentLength != parsed)
                return FailBool("Invalid header: two different Content-Length values.");
            contentLength = parsed;
        }
        else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "identity"u8))
                return FailBool("Transfer-Encoding is not supported: send the body with Content-Length.");
        }
        else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            foreach (var range in value.Split((byte)','))
            {
                var option = TrimWhitespace(value[range]);
                if (Ascii.EqualsIgnoreCase(option, "close"u8)) { _request.KeepAlive = false; return true; }
                if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8)) _request.KeepAlive = true;
            }
        }
        else if (Ascii.EqualsIgnoreCase(name, "Expect"u8))
        {
            if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                return FailBool("Invalid header: the only Expect value supported is 100-continue.");
            // RFC 9110 §10.1.1: an HTTP/1.0 client cannot understand 100 (Continue).
            _expectContinue = !_http10;
        }
        return true;
    }

    private static bool IsTokenChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*'
            or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        !line.IsEmpty && line[^1] == (byte)'\r' ? line[..^1] : line;

    private static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> s)
    {
        int start = 0, end = s.Length;
        while (start < end && s[start] is (byte)' ' or (byte)'\t') start++;
        while (end > start && s[end - 1] is (byte)' ' or (byte)'\t') end--;
        return s[start..end];
    }

    private HttpParseStatus Fail(string message)
    {
        Error = message;
        return HttpParseStatus.Error;
    }

    private bool FailBool(string message)
    {
        Error = message;
        return false;
    }
}
