using System.Diagnostics;
using System.Text;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>What a csvmm run produced.</summary>
public sealed record CsvmmResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed, bool TimedOut);

/// <summary>
/// Runs the csvmm executable as a separate process, as a user or CI script would: the published
/// NativeAOT binary when CSVMM_BIN points at one, else the csvmm.dll built next to the tests.
/// </summary>
public static class CsvmmProcess
{
    public static string? Binary => Environment.GetEnvironmentVariable("CSVMM_BIN") is { Length: > 0 } b && File.Exists(b) ? b : null;

    /// <summary>The command that starts csvmm: the AOT binary, or dotnet exec csvmm.dll.</summary>
    public static string[] Command => Binary is { } bin
        ? [bin]
        : ["dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "csvmm.dll")];

    /// <summary>Starts csvmm, optionally inside a network namespace.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, string? netns = null)
    {
        var command = netns is null ? Command : ["ip", "netns", "exec", netns, .. Command];
        var psi = new ProcessStartInfo(command[0]);
        foreach (var c in command.Skip(1)) psi.ArgumentList.Add(c);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        return psi;
    }

    /// <summary>Runs to completion (killing it after <paramref name="timeout"/>), feeding <paramref name="stdin"/>.</summary>
    public static CsvmmResult Run(IEnumerable<string> args, TimeSpan timeout, string? stdin = null, string? netns = null)
    {
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(StartInfo(args, netns))!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        bool exited = p.WaitForExit(timeout);
        if (!exited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        p.WaitForExit();
        lock (stdout) lock (stderr)
            return new CsvmmResult(exited ? p.ExitCode : -1, stdout.ToString(), stderr.ToString(), sw.Elapsed, !exited);
    }
}
