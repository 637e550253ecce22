namespace Csvmm.Vmm.Config;

/// <summary>A config file that cannot be read or used; names the file and the JSON path.</summary>
public sealed class ConfigFileException : Exception
{
    public ConfigFileException(string file, string? jsonPath, string problem, bool missing = false)
        : base(jsonPath is null ? $"config {file} {problem}" : $"config {file}: {jsonPath} {problem}") => Missing = missing;

    /// <summary>The file itself is missing or unreadable (exit 66) rather than malformed (exit 65).</summary>
    public bool Missing { get; }
}
