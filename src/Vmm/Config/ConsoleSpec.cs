namespace Csvmm.Vmm.Cli;

public enum ConsoleKind { Stdio, File, None }

/// <summary>Parses <c>--console stdio|file:PATH|none</c>.</summary>
public static class ConsoleSpec
{
    public static (ConsoleKind Kind, string? Path) Parse(string spec) => spec switch
    {
        "stdio" => (ConsoleKind.Stdio, null),
        "none" => (ConsoleKind.None, null),
        _ when spec.StartsWith("file:", StringComparison.Ordinal) && spec.Length > 5 => (ConsoleKind.File, spec[5..]),
        _ => throw new UsageException($"--console '{spec}': expected stdio, file:PATH or none"),
    };
}
