namespace Csvmm.Vmm.Api;

/// <summary>
/// What <see cref="FirecrackerCommandLine.Parse"/> found: options to run with, a request for the
/// help or version text, or a usage error (one line, for <c>csvmm: ...</c> and exit code 64).
/// </summary>
public sealed record FirecrackerCommandLineResult
{
    public FirecrackerOptions? Options { get; init; }

    public bool HelpRequested { get; init; }

    public bool VersionRequested { get; init; }

    public string? Error { get; init; }
}
