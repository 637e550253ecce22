namespace Csvmm.Vmm.Config;

/// <summary>Where the guest console goes: <c>--console stdio|file:PATH|none</c>.</summary>
public sealed record ConsoleSpec(ConsoleKind Kind, string? Path = null)
{
    public static readonly ConsoleSpec Stdio = new(ConsoleKind.Stdio);

    public static ConsoleSpec Parse(string spec) =>
        TryParse(spec, out var c) ? c : throw new UsageException($"--console '{spec}': expected stdio, file:PATH or none");

    public static bool TryParse(string spec, out ConsoleSpec console)
    {
        console = spec switch
        {
            "stdio" => Stdio,
            "none" => new ConsoleSpec(ConsoleKind.None),
            _ when spec.StartsWith("file:", StringComparison.Ordinal) && spec.Length > 5 => new ConsoleSpec(ConsoleKind.File, spec[5..]),
            _ => null!,
        };
        return console is not null;
    }
}
