using System.Diagnostics;
using System.Text;
using Csvmm.Tests.Support;
using Xunit.Abstractions;

namespace Csvmm.Images.Tests;

public static class QemuBoot
{
    /// <summary>
    /// Runs images/qemu-boot.sh MODE --steps STEPS. Kills the whole process tree
    /// (script + QEMU) once a line equal to <paramref name="finalMarker"/> has been
    /// seen and QEMU has not exited within a grace period, or on timeout.
    /// </summary>
    public static BootResult Run(string mode, string steps, string finalMarker, TimeSpan timeout, ITestOutputHelper log, params string[] extraArgs)
    {
        var args = new List<string> { Path.Combine(GuestImages.RepoRoot, "images", "qemu-boot.sh"), mode, "--steps", steps, "--timeout", ((int)timeout.TotalSeconds + 30).ToString() };
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
