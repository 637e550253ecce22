namespace Csvmm.Vmm.Tests.Support;

/// <summary>What a csvmm run produced.</summary>
public sealed record CsvmmResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut);
