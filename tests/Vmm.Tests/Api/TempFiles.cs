namespace Csvmm.Vmm.Tests.Api;

/// <summary>Scratch files and socket paths unique to one test, removed on Dispose.</summary>
public sealed class TempFiles : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"csvmm-fcapi-{Guid.NewGuid():N}"[..24]);

    public TempFiles() => Directory.CreateDirectory(_dir);

    public string Dir => _dir;

    /// <summary>A short socket path (sun_path holds 108 bytes).</summary>
    public string Socket => Path.Combine(_dir, "api.sock");

    public string File(string name, int bytes = 4096)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllBytes(path, new byte[bytes]);
        return path;
    }

    public string PathOf(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
