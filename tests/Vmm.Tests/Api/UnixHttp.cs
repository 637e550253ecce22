using System.Net.Sockets;
using System.Text;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>Clients of a Unix-socket HTTP server: .NET's HttpClient, a raw socket, and curl.</summary>
public static class UnixHttp
{
    /// <summary>HttpClient whose connections go to <paramref name="socketPath"/> (SocketsHttpHandler.ConnectCallback).</summary>
    public static HttpClient Client(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// Runs curl against the socket, as Firecracker's documentation does; returns (status, body).
    /// Null when curl is not installed.
    /// </summary>
    public static (int Status, string Body)? Curl(string socketPath, string method, string path, string? json = null, params string[] headers)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "--silent", "--show-error", "--expect100-timeout", "5", "--unix-socket", socketPath, "-X", method, "-w", "\n%{http_code}" })
            psi.ArgumentList.Add(a);
        foreach (string h in headers)
        {
            psi.ArgumentList.Add("-H");
            psi.ArgumentList.Add(h);
        }
        if (json is not null)
        {
            psi.ArgumentList.Add("-H");
            psi.ArgumentList.Add("Content-Type: application/json");
            psi.ArgumentList.Add("-d");
            psi.ArgumentList.Add(json);
        }
        psi.ArgumentList.Add($"http://localhost{path}");
        System.Diagnostics.Process p;
        try
        {
            p = System.Diagnostics.Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        using (p)
        {
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            int cut = output.LastIndexOf('\n');
            return (int.Parse(output[(cut + 1)..]), output[..cut]);
        }
    }

    public static bool CurlInstalled()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "curl"))) return true;
        return false;
    }
}
