using Xunit;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>A test that drives the API with curl --unix-socket; skipped, saying so, when curl is not installed.</summary>
public sealed class CurlFactAttribute : FactAttribute
{
    public CurlFactAttribute()
    {
        if (!UnixHttp.CurlInstalled())
            Skip = "SKIPPED: curl is not installed (./build.sh installs it), so the curl --unix-socket tests cannot run";
    }
}
