namespace Csvmm.Vmm.Api;

/// <summary>
/// A JSON document that does not have the shape of the expected Firecracker type: bad syntax, an
/// unknown or repeated key, a missing required key or a wrongly typed value. The message names the
/// key (serde's wording: "unknown field `x`, expected one of ...").
/// </summary>
public sealed class JsonBodyException : Exception
{
    public JsonBodyException(string message) : base(message)
    {
    }
}
