using System.Diagnostics;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// A network namespace the test creates and deletes itself: csvmm runs inside it, so its TAP
/// device and every address live only there and no traffic leaves it.
/// </summary>
public sealed class NetNamespace : IDisposable
{
    public NetNamespace(string prefix)
    {
        Name = $"{prefix}-{Environment.ProcessId}-{Random.Shared.Next(1000, 9999)}";
        Run("ip", "netns", "add", Name);
        Run("ip", "-n", Name, "link", "set", "lo", "up");
    }

    public string Name { get; }

    public static bool Available => Environment.UserName == "root" && File.Exists("/dev/net/tun") &&
        (File.Exists("/usr/sbin/ip") || File.Exists("/usr/bin/ip") || File.Exists("/sbin/ip"));

    /// <summary>Runs a command inside the namespace; returns (exit code, stdout+stderr).</summary>
    public (int Code, string Output) Exec(params string[] command) => Run(["ip", "netns", "exec", Name, .. command], check: false);

    /// <summary>Starts a long-running command inside the namespace.</summary>
    public Process Start(params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "netns", "exec", Name }.Concat(command)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Waits for <paramref name="link"/> to exist, then gives it <paramref name="cidr"/> and brings it up.</summary>
    public void ConfigureWhenPresent(string link, string cidr, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (Run(["ip", "-n", Name, "link", "show", link], check: false).Code != 0)
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"{link} did not appear in {Name}");
            Thread.Sleep(100);
        }
        Run("ip", "-n", Name, "addr", "add", cidr, "dev", link);
        Run("ip", "-n", Name, "link", "set", link, "up");
    }

    private static (int Code, string Output) Run(string[] command, bool check = true)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)} failed: {output}");
        return (p.ExitCode, output);
    }

    private static void Run(params string[] command) => Run(command, check: true);

    public void Dispose() => Run(["ip", "netns", "del", Name], check: false);
}
