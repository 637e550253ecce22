namespace Csvmm.Images.Tests;

/// <summary>Result of one QEMU boot via images/qemu-boot.sh.</summary>
public sealed record BootResult(string Output, double? ReadySeconds, double? DoneSeconds, bool TimedOut, int ExitCode);
