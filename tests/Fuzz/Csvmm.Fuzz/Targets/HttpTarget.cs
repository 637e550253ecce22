using Csvmm.Vmm.Api.Http;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// The API's HTTP request parser (src/Vmm/Api/Http/HttpRequestParser.cs) driven the way the server
/// drives it: bytes arrive in chunks into one connection buffer, each chunk is followed by a parse,
/// a complete request is consumed and the parser reset, an error ends the connection. Input: a
/// limits byte (even: Firecracker's limits, odd: tiny ones), then chunks of [u8 length][bytes].
/// Checked: a complete request never claims more bytes than were received and its body fits the
/// limit; the parser never keeps waiting once the buffer holds head limit + body limit bytes (the
/// server's buffer is that big, so waiting longer would stall the connection); errors say why.
/// </summary>
public sealed class HttpTarget : IFuzzTarget
{
    private static readonly HttpLimits Small = HttpLimits.Default with { MaxRequestLineBytes = 48, MaxHeaderBytes = 160, MaxBodyBytes = 64 };

    private readonly byte[] _buffer = new byte[HttpLimits.Default.MaxHeaderBytes + HttpLimits.Default.MaxBodyBytes + 2];

    public string Name => "http";

    public string Description => "limits byte, then chunks of [u8 length][bytes] fed to one connection's parser";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        var limits = (input.U8() & 1) == 0 ? HttpLimits.Default : Small;
        int cap = limits.MaxHeaderBytes + limits.MaxBodyBytes + 2;
        var parser = new HttpRequestParser(limits);
        int count = 0;
        while (!input.IsEmpty)
        {
            var chunk = input.Bytes(input.U8());
            int take = Math.Min(chunk.Length, cap - count);
            chunk[..take].CopyTo(_buffer.AsSpan(count));
            count += take;
            while (count > 0)
            {
                var status = parser.Parse(_buffer.AsMemory(0, count), out int consumed);
                if (status == HttpParseStatus.Incomplete)
                {
                    if (count >= cap)
                        throw new FuzzInvariantException($"the parser still waits with {count} bytes buffered (the connection holds {cap})");
                    break;
                }
                if (status == HttpParseStatus.Error)
                {
                    if (string.IsNullOrEmpty(parser.Error)) throw new FuzzInvariantException("an error without a message");
                    parser.Reset();
                    count = 0; // the server closes the connection
                    break;
                }
                var request = parser.Request;
                if (consumed <= 0 || consumed > count)
                    throw new FuzzInvariantException($"consumed {consumed} of {count} bytes");
                if (request.Body.Length > limits.MaxBodyBytes || request.Body.Length > consumed)
                    throw new FuzzInvariantException($"a {request.Body.Length}-byte body from {consumed} bytes (limit {limits.MaxBodyBytes})");
                if (!request.Path.StartsWith('/'))
                    throw new FuzzInvariantException($"path '{request.Path}' does not start with '/'");
                Buffer.BlockCopy(_buffer, consumed, _buffer, 0, count - consumed);
                count -= consumed;
                parser.Reset();
            }
        }
    }
}
