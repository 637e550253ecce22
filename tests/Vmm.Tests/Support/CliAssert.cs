using Xunit;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>The bad-input contract: one line on stderr ("csvmm: ..."), a documented code, no stack trace.</summary>
public static class CliAssert
{
    public static void OneLine(CsvmmResult r, int code, string fragment)
    {
        Assert.True(r.ExitCode == code, $"exit {r.ExitCode}, expected {code}: {r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{r.Stderr}");
        Assert.StartsWith("csvmm: ", lines[0]);
        Assert.Contains(fragment, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
