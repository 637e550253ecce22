namespace Csvmm.Tests.Support;

/// <summary>
/// A test's own directory for scratch files (images, kernels, stats), under the temp directory
/// with a unique name, deleted with everything in it on Dispose, so no run leaves files behind.
/// </summary>
public sealed class ScratchDir : IDisposable
{
    public ScratchDir(string name)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"csvmm-test-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> in this directory (nothing is created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="content"/> to <paramref name="name"/> and returns its path.</summary>
    public string Write(string name, byte[] content)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
