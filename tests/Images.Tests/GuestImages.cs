using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Csvmm.Images.Tests;

/// <summary>Builds the guest images once (images/build.sh --print-paths) and exposes the paths.</summary>
public sealed class GuestImages
{
    private static readonly Lazy<GuestImages> Instance = new(() => new GuestImages(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static GuestImages Get() => Instance.Value;

    public string RepoRoot { get; }
    public IReadOnlyDictionary<string, string> Paths { get; }

    private GuestImages()
    {
        RepoRoot = FindRepoRoot();
        var psi = new ProcessStartInfo("bash", [Path.Combine(RepoRoot, "images", "build.sh"), "--print-paths"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(30)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("images/build.sh did not finish within 30 minutes");
        }
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"images/build.sh failed ({p.ExitCode}):\n{stderr.Result}");
        }
        Paths = ParseEnv(stdout);
    }

    /// <summary>Parses the CSVMM_*=value lines printed by build.sh (values may be single-quoted).</summary>
    public static Dictionary<string, string> ParseEnv(string text)
    {
        var d = new Dictionary<string, string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            int eq = line.IndexOf('=');
            if (!line.StartsWith("CSVMM_") || eq < 0) continue;
            string v = line[(eq + 1)..];
            if (v.Length >= 2 && v[0] == '\'' && v[^1] == '\'') v = v[1..^1];
            d[line[..eq]] = v;
        }
        return d;
    }

    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vmm.sln")) ||
                File.Exists(Path.Combine(dir.FullName, "images", "build.sh")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("repository root (with Vmm.sln or images/build.sh) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Result of one QEMU boot via images/qemu-boot.sh.</summary>
public sealed record BootResult(string Output, double? ReadySeconds, double? DoneSeconds, bool TimedOut, int ExitCode);

public static class QemuBoot
{
    /// <summary>
    /// Runs images/qemu-boot.sh MODE --steps STEPS. Kills the whole process tree
    /// (script + QEMU) once a line equal to <paramref name="finalMarker"/> has been
    /// seen and QEMU has not exited within a grace period, or on timeout.
    /// </summary>
    public static BootResult Run(string mode, string steps, string finalMarker, TimeSpan timeout, ITestOutputHelper log, params string[] extraArgs)
    {
        var images = GuestImages.Get();
        var args = new List<string> { Path.Combine(images.RepoRoot, "images", "qemu-boot.sh"), mode, "--steps", steps, "--timeout", ((int)timeout.TotalSeconds + 30).ToString() };
        args.AddRange(extraArgs);
        var psi = new ProcessStartInfo("bash", args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var sw = Stopwatch.StartNew();
        var output = new StringBuilder();
        double? ready = null, done = null;
        var finalSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            string line = e.Data.TrimEnd('\r');
            lock (output) output.AppendLine(line);
            if (line == "CSVMM_READY") ready ??= sw.Elapsed.TotalSeconds;
            if (line == "CSVMM_DONE") done ??= sw.Elapsed.TotalSeconds;
            if (line == finalMarker) finalSeen.TrySetResult();
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (output) output.AppendLine("# " + e.Data);
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool timedOut = false;
        var exited = p.WaitForExitAsync();
        var first = Task.WhenAny(finalSeen.Task, exited, Task.Delay(timeout)).GetAwaiter().GetResult();
        if (first != finalSeen.Task && first != exited)
        {
            timedOut = true;
            p.Kill(entireProcessTree: true);
        }
        else if (!p.WaitForExit(TimeSpan.FromSeconds(15)))
        {
            // final marker seen, but QEMU is still running: stop it
            p.Kill(entireProcessTree: true);
        }
        p.WaitForExit();
        string text;
        lock (output) text = output.ToString();
        log.WriteLine(text);
        log.WriteLine($"ready after {ready?.ToString("F1") ?? "-"} s, done after {done?.ToString("F1") ?? "-"} s, timed out: {timedOut}");
        return new BootResult(text, ready, done, timedOut, p.HasExited ? p.ExitCode : -1);
    }
}
