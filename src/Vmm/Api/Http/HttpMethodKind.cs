namespace Csvmm.Vmm.Api.Http;

/// <summary>The methods the API knows (micro_http's set); any other method is a 400.</summary>
public enum HttpMethodKind
{
    Get,
    Put,
    Patch,
    Delete,
}
