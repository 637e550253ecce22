using System.Diagnostics;
using System.Text;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// A running csvmm whose console the test watches line by line and types into, like a person at
/// the serial console. All output is kept for assertions and failure messages.
/// </summary>
public sealed class GuestSession : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public GuestSession(IEnumerable<string> args, string? netns = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = CsvmmProcess.StartInfo(args, netns, environment);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(StringBuilder sb, string? line)
    {
        if (line is null) return;
        lock (_lock)
        {
            sb.Append(line).Append('\n');
            Monitor.PulseAll(_lock);
        }
    }

    public int Pid => _process.Id;

    public string Stdout { get { lock (_lock) return _stdout.ToString(); } }
    public string Stderr { get { lock (_lock) return _stderr.ToString(); } }
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Waits until stdout contains <paramref name="text"/>; returns the time it appeared.</summary>
    public TimeSpan WaitFor(string text, TimeSpan timeout)
    {
        var deadline = _clock.Elapsed + timeout;
        lock (_lock)
        {
            while (!_stdout.ToString().Contains(text))
            {
                var left = deadline - _clock.Elapsed;
                if (left <= TimeSpan.Zero || (_process.HasExited && !_stdout.ToString().Contains(text) && WaitDrained()))
                    throw new TimeoutException($"'{text}' did not appear within {timeout.TotalSeconds:F0} s " +
                        $"(exited: {_process.HasExited}).\n--- stdout ---\n{Tail(_stdout)}\n--- stderr ---\n{_stderr}");
                Monitor.Wait(_lock, TimeSpan.FromMilliseconds(Math.Min(left.TotalMilliseconds, 500)));
            }
        }
        return _clock.Elapsed;
    }

    private bool WaitDrained()
    {
        Monitor.Exit(_lock);
        try { _process.WaitForExit(); } finally { Monitor.Enter(_lock); }
        return true;
    }

    private static string Tail(StringBuilder sb)
    {
        var s = sb.ToString();
        return s.Length > 6000 ? s[^6000..] : s;
    }

    /// <summary>Types <paramref name="text"/> on the guest console.</summary>
    public void Send(string text)
    {
        _process.StandardInput.Write(text);
        _process.StandardInput.Flush();
    }

    /// <summary>
    /// Types <paramref name="text"/> (an idempotent command line), then again every
    /// <paramref name="retryEvery"/>, until stdout contains <paramref name="expected"/> or
    /// <paramref name="timeout"/> has passed: what is typed before a shell reads its terminal is lost.
    /// </summary>
    public void SendUntil(string text, string expected, TimeSpan retryEvery, TimeSpan timeout)
    {
        var deadline = _clock.Elapsed + timeout;
        while (true)
        {
            Send(text);
            var wait = deadline - _clock.Elapsed < retryEvery ? deadline - _clock.Elapsed : retryEvery;
            try
            {
                WaitFor(expected, wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
                return;
            }
            catch (TimeoutException) when (_clock.Elapsed < deadline && !_process.HasExited)
            {
            }
        }
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"csvmm still running after {timeout.TotalSeconds:F0} s.\n--- stdout ---\n{Tail(_stdout)}\n--- stderr ---\n{Stderr}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Signal(string signal) => Process.Start("kill", [$"-{signal}", Pid.ToString()])!.WaitForExit();

    /// <summary>Everything so far, for assertion messages.</summary>
    public string Transcript => $"--- stdout ---\n{Tail(_stdout)}\n--- stderr ---\n{Stderr}";

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
