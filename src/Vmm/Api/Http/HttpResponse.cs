using System.Text.Json;

namespace Csvmm.Vmm.Api.Http;

/// <summary>
/// A response as the Firecracker API sends it: 204 without a body, 200 with JSON, and every error
/// as <c>{"fault_message": "..."}</c> (src/firecracker/swagger/firecracker.yaml, definition Error).
/// </summary>
public sealed class HttpResponse
{
    public const int Continue = 100;
    public const int Ok = 200;
    public const int NoContentStatus = 204;
    public const int BadRequest = 400;
    public const int InternalServerError = 500;
    public const int ServiceUnavailable = 503;

    private static readonly HttpResponse NoContentInstance = new(NoContentStatus, null);

    // Messages quote keys in backticks as serde does; the default encoder would write them as
    // \u0060. Control characters and quotes are still escaped.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public HttpResponse(int statusCode, byte[]? body, bool closeConnection = false)
    {
        StatusCode = statusCode;
        Body = body;
        CloseConnection = closeConnection;
    }

    public int StatusCode { get; }

    /// <summary>UTF-8 JSON, or null for no body (and then no Content-Length, as micro_http does).</summary>
    public byte[]? Body { get; }

    /// <summary>Close the connection after this response (the request stream cannot be framed any more).</summary>
    public bool CloseConnection { get; }

    public static HttpResponse NoContent() => NoContentInstance;

    public static HttpResponse Json(byte[] body) => new(Ok, body);

    public static HttpResponse Fault(string message, int statusCode = BadRequest, bool closeConnection = false) =>
        new(statusCode, FaultBody(message), closeConnection);

    /// <summary><c>{"fault_message": message}</c>, escaped by <see cref="Utf8JsonWriter"/>.</summary>
    public static byte[] FaultBody(string message)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(message.Length + 24);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("fault_message"u8, message);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static string ReasonPhrase(int statusCode) => statusCode switch
    {
        Continue => "Continue",
        Ok => "OK",
        NoContentStatus => "No Content",
        BadRequest => "Bad Request",
        InternalServerError => "Internal Server Error",
        ServiceUnavailable => "Service Unavailable",
        _ => "",
    };
}
