namespace Csvmm.Vmm.Tests.Api;

public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body);
