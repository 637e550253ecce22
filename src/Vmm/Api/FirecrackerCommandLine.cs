using System.Globalization;

namespace Csvmm.Vmm.Api;

/// <summary>
/// Firecracker's command line, parsed with the rules of its ArgParser (src/utils/src/arg_parser.rs):
/// <c>--name value</c> pairs and <c>--flag</c>s, no value may start with "--", no argument twice,
/// <c>--help</c>/<c>-h</c> and <c>--version</c> win over everything, arguments after <c>--</c> are
/// set aside, and its error messages. Each Firecracker flag is supported, accepted and ignored
/// (only where that is harmless: listed in <see cref="FirecrackerOptions.IgnoredFlags"/>), or
/// refused with the reason (<see cref="Flags"/>).
/// <para>
/// An orchestrator runs csvmm in place of <c>firecracker</c> in one of two ways:
/// <see cref="TryGetFirecrackerArguments"/> recognises both a program named <c>firecracker</c> (a
/// symlink or copy of csvmm) and the verb <c>csvmm firecracker ...</c>.
/// </para>
/// </summary>
public static class FirecrackerCommandLine
{
    public const string Verb = "firecracker";

    private enum Kind { Value, Flag }

    private enum Treatment { Supported, Ignored, Refused }

    private sealed record Flag(string Name, Kind Kind, Treatment Treatment, string Help);

    private static readonly Flag[] Known =
    [
        new("api-sock", Kind.Value, Treatment.Supported, $"Path to the API's Unix socket (default {FirecrackerVersions.DefaultApiSocket})."),
        new("config-file", Kind.Value, Treatment.Supported, "Build and start the microVM from this JSON file."),
        new("no-api", Kind.Flag, Treatment.Supported, "No API socket; needs --config-file."),
        new("id", Kind.Value, Treatment.Supported, $"MicroVM id, 1-64 characters a-z A-Z 0-9 - (default {FirecrackerVersions.DefaultInstanceId})."),
        new("log-path", Kind.Value, Treatment.Supported, "File or named pipe for the log."),
        new("level", Kind.Value, Treatment.Supported, "Log level: Off, Error, Warning, Info, Debug, Trace."),
        new("show-level", Kind.Flag, Treatment.Supported, "Write the level on each log line."),
        new("show-log-origin", Kind.Flag, Treatment.Supported, "Write the origin on each log line."),
        new("metrics-path", Kind.Value, Treatment.Supported, "File or named pipe for the metrics."),
        new("http-api-max-payload-size", Kind.Value, Treatment.Supported, "Largest request body, in bytes (default 51200)."),
        new("start-time-us", Kind.Value, Treatment.Supported, "Process start time (wall clock, us), for the start-up metric."),
        new("start-time-cpu-us", Kind.Value, Treatment.Supported, "Process start CPU time (us), for the start-up metric."),
        new("parent-cpu-time-us", Kind.Value, Treatment.Supported, "Parent process CPU time (us), added to the start-up CPU metric."),
        new("boot-timer", Kind.Flag, Treatment.Ignored, "Accepted: csvmm logs the guest's boot marker itself (guest-control page)."),
        new("module", Kind.Value, Treatment.Ignored, "Accepted: filters Firecracker's Rust modules, which csvmm does not have."),
        new("no-seccomp", Kind.Flag, Treatment.Ignored, "Accepted: csvmm installs no seccomp filters."),
        new("mmds-size-limit", Kind.Value, Treatment.Ignored, "Accepted: csvmm has no MMDS."),
        new("seccomp-filter", Kind.Value, Treatment.Refused, "csvmm installs no seccomp filters, so it cannot apply this one."),
        new("metadata", Kind.Value, Treatment.Refused, "csvmm has no MMDS to load metadata into."),
        new("enable-pci", Kind.Flag, Treatment.Supported, "Devices on virtio-pci with MSI-X instead of virtio-mmio (the default, as in Firecracker)."),
        new("snapshot-version", Kind.Flag, Treatment.Refused, "csvmm's snapshots have csvmm's own format, tied to the csvmm version that wrote them."),
        new("describe-snapshot", Kind.Value, Treatment.Refused, "csvmm's snapshots have csvmm's own format, tied to the csvmm version that wrote them."),
    ];

    /// <summary>Every Firecracker flag with what csvmm does with it: (name, "supported" / "ignored" / "refused", why).</summary>
    public static IEnumerable<(string Name, string Treatment, string Help)> Flags =>
        Known.Select(f => (f.Name, f.Treatment.ToString().ToLowerInvariant(), f.Help));

    /// <summary>
    /// True when this process should behave as Firecracker: its program name is <c>firecracker</c>
    /// (csvmm installed or symlinked under that name; pass argv[0], i.e.
    /// <c>Environment.GetCommandLineArgs()[0]</c>, not the resolved <c>Environment.ProcessPath</c>),
    /// or its first argument is the verb <c>firecracker</c>. <paramref name="firecrackerArgs"/> are
    /// then the arguments for <see cref="Parse"/>.
    /// </summary>
    public static bool TryGetFirecrackerArguments(string programName, string[] args, out string[] firecrackerArgs)
    {
        if (Path.GetFileName(programName) == Verb)
        {
            firecrackerArgs = args;
            return true;
        }
        if (args.Length > 0 && args[0] == Verb)
        {
            firecrackerArgs = args[1..];
            return true;
        }
        firecrackerArgs = [];
        return false;
    }

    /// <summary>Parses Firecracker's arguments (without the program name or the verb).</summary>
    public static FirecrackerCommandLineResult Parse(IReadOnlyList<string> args)
    {
        int separator = IndexOf(args, "--");
        var own = separator < 0 ? args : args.Take(separator).ToList();
        var extra = separator < 0 ? [] : args.Skip(separator + 1).ToList();
        if (own.Contains("--help") || own.Contains("-h")) return new() { HelpRequested = true };
        if (own.Contains("--version")) return new() { VersionRequested = true };

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (int i = 0; i < own.Count; i++)
        {
            string arg = own[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                return Error($"Found argument '{arg}' which wasn't expected, or isn't valid in this context.");
            string name = arg[2..];
            var flag = Array.Find(Known, f => f.Name == name);
            if (flag is null)
                return Error($"Found argument '{name}' which wasn't expected, or isn't valid in this context.");
            if (values.ContainsKey(name))
                return Error($"The argument '{name}' was provided more than once.");
            string? value = null;
            if (flag.Kind == Kind.Value)
            {
                if (i + 1 >= own.Count || own[i + 1].StartsWith("--", StringComparison.Ordinal))
                    return Error($"The argument '{name}' requires a value, but none was supplied.");
                value = own[++i];
            }
            if (flag.Treatment == Treatment.Refused)
                return Error($"--{name} cannot be honoured: {flag.Help}");
            values[name] = value;
        }

        if (values.ContainsKey("no-api") && !values.ContainsKey("config-file"))
            return Error("Argument 'config-file' required, but not found.");

        string id = values.GetValueOrDefault("id") ?? FirecrackerVersions.DefaultInstanceId;
        if (ValidateInstanceId(id) is { } idError) return Error($"Invalid instance ID: {idError}");

        string? level = values.GetValueOrDefault("level");
        if (level is not null && !LoggerSettings.TryParseLevel(level, out _))
            return Error($"Invalid value for logger level: {level}. Possible values: [Error, Warning, Info, Debug]");

        int payload = HttpApiLimit(values.GetValueOrDefault("http-api-max-payload-size"), out string? payloadError);
        if (payloadError is not null) return Error(payloadError);

        long? startUs = null, startCpuUs = null, parentCpuUs = null;
        foreach (var (key, set) in new (string, Action<long>)[]
        {
            ("start-time-us", v => startUs = v), ("start-time-cpu-us", v => startCpuUs = v), ("parent-cpu-time-us", v => parentCpuUs = v),
        })
        {
            if (values.GetValueOrDefault(key) is not { } text) continue;
            if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) || v > long.MaxValue)
                return Error($"'{key}' parameter expected to be of 'u64' type.");
            set((long)v);
        }

        return new()
        {
            Options = new FirecrackerOptions
            {
                ApiSocket = values.GetValueOrDefault("api-sock") ?? FirecrackerVersions.DefaultApiSocket,
                NoApi = values.ContainsKey("no-api"),
                ConfigFile = values.GetValueOrDefault("config-file"),
                InstanceId = id,
                BootTimer = values.ContainsKey("boot-timer"),
                LogPath = values.GetValueOrDefault("log-path"),
                Level = level,
                Module = values.GetValueOrDefault("module"),
                ShowLevel = values.ContainsKey("show-level"),
                ShowLogOrigin = values.ContainsKey("show-log-origin"),
                MetricsPath = values.GetValueOrDefault("metrics-path"),
                HttpApiMaxPayloadSize = payload,
                StartTimeUs = startUs,
                StartTimeCpuUs = startCpuUs,
                ParentCpuTimeUs = parentCpuUs,
                IgnoredFlags = [.. Known.Where(f => f.Treatment == Treatment.Ignored && values.ContainsKey(f.Name)).Select(f => "--" + f.Name)],
                ExtraArgs = extra,
                EnablePci = values.ContainsKey("enable-pci"),
            },
        };
    }

    /// <summary>The text for --help.</summary>
    public static string Usage()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine($"csvmm as Firecracker v{FirecrackerVersions.ApiVersion} (its API, config file and command line)");
        text.AppendLine();
        text.AppendLine("usage: firecracker [--api-sock PATH | --no-api] [--config-file PATH] [--id ID] [options]");
        text.AppendLine("       csvmm firecracker [same options]");
        text.AppendLine();
        foreach (var f in Known)
        {
            string name = f.Kind == Kind.Value ? $"--{f.Name} <{f.Name}>" : $"--{f.Name}";
            string note = f.Treatment == Treatment.Refused ? "refused: " : "";
            text.AppendLine($"  {name,-46} {note}{f.Help}");
        }
        return text.ToString();
    }

    /// <summary>The text for --version: Firecracker's first line (orchestrators parse "Firecracker vX.Y.Z"), then csvmm's.</summary>
    public static string VersionText(string csvmmVersion) =>
        $"Firecracker v{FirecrackerVersions.ApiVersion}\n\ncsvmm {csvmmVersion}, answering as Firecracker v{FirecrackerVersions.ApiVersion}\n";

    /// <summary>validate_instance_id in src/utils/src/validators.rs: 1-64 characters, alphanumeric or '-'.</summary>
    public static string? ValidateInstanceId(string id)
    {
        if (id.Length is < 1 or > 64) return $"Invalid len ({id.Length});  the length must be between 1 and 64";
        for (int i = 0; i < id.Length; i++)
            if (id[i] != '-' && !char.IsLetterOrDigit(id[i]))
                return $"Invalid char ({id[i]}) at position {i}";
        return null;
    }

    private static int HttpApiLimit(string? text, out string? error)
    {
        error = null;
        if (text is null) return Http.HttpLimits.DefaultMaxBodyBytes;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
        {
            error = "'http-api-max-payload-size' parameter expected to be a positive number of bytes (at most 2147483647).";
            return 0;
        }
        return value;
    }

    private static int IndexOf(IReadOnlyList<string> args, string value)
    {
        for (int i = 0; i < args.Count; i++)
            if (args[i] == value) return i;
        return -1;
    }

    private static FirecrackerCommandLineResult Error(string message) => new() { Error = message };
}
