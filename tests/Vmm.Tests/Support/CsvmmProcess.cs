using System.Diagnostics;
using System.Text;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// Runs the csvmm executable as a separate process, as a user or CI script would: the published
/// NativeAOT binary when CSVMM_BIN points at one, else the csvmm.dll built next to the tests.
/// </summary>
public static class CsvmmProcess
{
    /// <summary>The unprivileged user of <see cref="RunAsNobody"/>.</summary>
    public const int NobodyId = 65534;

    public static string? Binary => Environment.GetEnvironmentVariable("CSVMM_BIN") is { Length: > 0 } b && File.Exists(b) ? b : null;

    /// <summary>The command that starts csvmm: the AOT binary, or dotnet exec csvmm.dll.</summary>
    public static string[] Command => Binary is { } bin
        ? [bin]
        : ["dotnet", "exec", Path.Combine(AppContext.BaseDirectory, "csvmm.dll")];

    /// <summary>
    /// Starts csvmm, optionally inside a network namespace, with extra environment variables
    /// (e.g. LD_PRELOAD), optionally behind a wrapper command (e.g. setpriv).
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, string? netns = null,
        IReadOnlyDictionary<string, string>? environment = null, IEnumerable<string>? wrapper = null)
    {
        string[] command = [.. netns is null ? [] : new[] { "ip", "netns", "exec", netns }, .. wrapper ?? [], .. Command];
        var psi = new ProcessStartInfo(command[0]);
        foreach (var c in command.Skip(1)) psi.ArgumentList.Add(c);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        return psi;
    }

    /// <summary>Runs to completion (killing it after <paramref name="timeout"/>), feeding <paramref name="stdin"/>.</summary>
    public static CsvmmResult Run(IEnumerable<string> args, TimeSpan timeout, string? stdin = null, string? netns = null) =>
        Run(StartInfo(args, netns), timeout, stdin);

    /// <summary>
    /// Runs csvmm as user and group nobody (setpriv, no supplementary groups), killed after
    /// <paramref name="timeout"/>. HOME points at a directory nobody can use, for dotnet.
    /// </summary>
    public static CsvmmResult RunAsNobody(IEnumerable<string> args, TimeSpan timeout, string? netns = null) =>
        Run(StartInfo(args, netns, new Dictionary<string, string> { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" },
            ["setpriv", $"--reuid={NobodyId}", $"--regid={NobodyId}", "--clear-groups"]), timeout, null);

    private static CsvmmResult Run(ProcessStartInfo psi, TimeSpan timeout, string? stdin)
    {
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
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
