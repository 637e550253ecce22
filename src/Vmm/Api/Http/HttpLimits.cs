namespace Csvmm.Vmm.Api.Http;

/// <summary>
/// What one client may cost the API server. The payload and connection limits are Firecracker's
/// (<c>HTTP_MAX_PAYLOAD_SIZE</c> = 51200 in src/vmm/src/lib.rs, <c>MAX_CONNECTIONS</c> = 10 in
/// micro_http's src/server.rs); the timeouts are csvmm's own: micro_http has none, so there a
/// client that stops half-way through a request holds its slot forever.
/// </summary>
public sealed record HttpLimits
{
    /// <summary>Firecracker's default request body limit (its <c>--http-api-max-payload-size</c>).</summary>
    public const int DefaultMaxBodyBytes = 51200;

    /// <summary>Request line: method, target and version. micro_http's whole line buffer is 1024 bytes.</summary>
    public int MaxRequestLineBytes { get; init; } = 1024;

    /// <summary>Request line plus every header line plus the blank line.</summary>
    public int MaxHeaderBytes { get; init; } = 8192;

    public int MaxBodyBytes { get; init; } = DefaultMaxBodyBytes;

    /// <summary>Open client connections; the next one evicts the longest-idle one or gets a 503.</summary>
    public int MaxConnections { get; init; } = 10;

    /// <summary>From the first byte of a request to its last.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A keep-alive connection with nothing in flight is closed after this.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A client that does not read its response for this long is dropped.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public static HttpLimits Default { get; } = new();
}
