namespace Csvmm.Vmm.Api.Http;

public enum HttpParseStatus
{
    /// <summary>More bytes are needed; nothing was consumed.</summary>
    Incomplete,

    /// <summary>A whole request was parsed.</summary>
    Complete,

    /// <summary>The bytes cannot be a valid request: answer 400 once and close the connection.</summary>
    Error,
}
