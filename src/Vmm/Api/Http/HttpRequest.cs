namespace Csvmm.Vmm.Api.Http;

/// <summary>
/// One parsed request. <see cref="Body"/> points into the connection's buffer and is valid only
/// until the handler returns.
/// </summary>
public sealed class HttpRequest
{
    public HttpMethodKind Method { get; internal set; }

    /// <summary>The path of the target, without a query string and without <c>http://host</c>.</summary>
    public string Path { get; internal set; } = "/";

    /// <summary>The Content-Length bytes; empty when the request has no body.</summary>
    public ReadOnlyMemory<byte> Body { get; internal set; }

    /// <summary>True when the request carried a non-empty body (micro_http's <c>body: Some</c>).</summary>
    public bool HasBody => !Body.IsEmpty;

    /// <summary>False for <c>Connection: close</c>, and for HTTP/1.0 without <c>Connection: keep-alive</c>.</summary>
    public bool KeepAlive { get; internal set; } = true;

    public static string MethodName(HttpMethodKind method) => method switch
    {
        HttpMethodKind.Get => "GET",
        HttpMethodKind.Put => "PUT",
        HttpMethodKind.Patch => "PATCH",
        _ => "DELETE",
    };

    public override string ToString() => $"{MethodName(Method)} {Path}";
}
