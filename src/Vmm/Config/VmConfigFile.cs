using System.Text.Json;

namespace Csvmm.Vmm.Config;

/// <summary>
/// <c>--config vm.json</c>: the same settings as the flags, parsed straight into the config model's
/// parts (<see cref="DiskConfig"/>, <see cref="NetConfig"/>). Read with JsonDocument (NativeAOT-safe)
/// so every error names the JSON path that is wrong, e.g. <c>$.disks[1].path</c>. A disk's object
/// form takes any path the file system allows, commas included.
/// <code>
/// { "kernel": "bzImage", "initrd": "initramfs.cpio", "cmdline": "quiet", "memory": 512, "cpus": 1,
///   "disks": [ "root.img", { "path": "data.raw", "readOnly": true, "id": "data" } ],
///   "timeout": 120, "console": "file:boot.log", "logLevel": "info", "stats": "stats.json" }
/// </code>
/// </summary>
public sealed class VmConfigFile
{
    private static readonly HashSet<string> Known =
        ["kernel", "initrd", "cmdline", "memory", "cpus", "disks", "nets", "transport", "timeout", "console", "logLevel", "stats"];

    public string? Kernel { get; private set; }
    public string? Initrd { get; private set; }
    public string? Cmdline { get; private set; }
    public int? Memory { get; private set; }
    public int? Cpus { get; private set; }
    public List<DiskConfig>? Disks { get; private set; }
    public List<NetConfig>? Nets { get; private set; }
    public double? Timeout { get; private set; }
    public string? Console { get; private set; }
    public string? LogLevel { get; private set; }
    public string? Stats { get; private set; }
    public string? Transport { get; private set; }

    public static VmConfigFile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (FileNotFoundException) { throw new ConfigFileException(path, null, "does not exist", missing: true); }
        catch (DirectoryNotFoundException) { throw new ConfigFileException(path, null, "does not exist", missing: true); }
        catch (UnauthorizedAccessException) { throw new ConfigFileException(path, null, "is not readable (permission denied)", missing: true); }
        catch (IOException e) { throw new ConfigFileException(path, null, $"cannot be read: {e.Message}", missing: true); }
        return Parse(path, text);
    }

    public static VmConfigFile Parse(string path, string text)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ConfigFileException(path, null, $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ConfigFileException(path, "$", "must be a JSON object");
            var c = new VmConfigFile();
            foreach (var p in root.EnumerateObject())
            {
                string at = $"$.{p.Name}";
                switch (p.Name)
                {
                    case "kernel": c.Kernel = String(path, at, p.Value); break;
                    case "initrd": c.Initrd = String(path, at, p.Value); break;
                    case "cmdline": c.Cmdline = String(path, at, p.Value); break;
                    case "console": c.Console = String(path, at, p.Value); break;
                    case "logLevel": c.LogLevel = String(path, at, p.Value); break;
                    case "stats": c.Stats = String(path, at, p.Value); break;
                    case "transport":
                        c.Transport = String(path, at, p.Value);
                        if (!TransportSpec.TryParse(c.Transport, out _))
                            throw new ConfigFileException(path, at, "must be \"pci\" or \"mmio\"");
                        break;
                    case "memory": c.Memory = Int(path, at, p.Value); break;
                    case "cpus": c.Cpus = Int(path, at, p.Value); break;
                    case "timeout":
                        if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double t))
                            throw new ConfigFileException(path, at, "must be a number of seconds");
                        c.Timeout = t;
                        break;
                    case "disks":
                        if (p.Value.ValueKind != JsonValueKind.Array)
                            throw new ConfigFileException(path, at, "must be an array of disks");
                        int i = 0;
                        c.Disks = [];
                        foreach (var d in p.Value.EnumerateArray())
                            c.Disks.Add(Disk(path, $"{at}[{i++}]", d));
                        break;
                    case "nets":
                        if (p.Value.ValueKind != JsonValueKind.Array)
                            throw new ConfigFileException(path, at, "must be an array of interfaces");
                        int n = 0;
                        c.Nets = [];
                        foreach (var d in p.Value.EnumerateArray())
                            c.Nets.Add(Net(path, $"{at}[{n++}]", d));
                        break;
                    default:
                        throw new ConfigFileException(path, at, $"is not a known setting (known: {string.Join(", ", Known)})");
                }
            }
            return c;
        }
    }

    /// <summary>A disk as a string ("PATH[,ro][,id=ID]") or an object {path, readOnly, id}.</summary>
    private static DiskConfig Disk(string file, string at, JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            if (!DiskSpec.TryParse(e.GetString()!, out var fromSpec, out string problem))
                throw new ConfigFileException(file, at, problem);
            return fromSpec;
        }
        if (e.ValueKind != JsonValueKind.Object)
            throw new ConfigFileException(file, at, "must be a path string or an object with \"path\"");
        string? path = null;
        bool ro = false;
        string? id = null;
        foreach (var p in e.EnumerateObject())
        {
            string pat = $"{at}.{p.Name}";
            switch (p.Name)
            {
                case "path": path = String(file, pat, p.Value); break;
                case "readOnly":
                    if (p.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        throw new ConfigFileException(file, pat, "must be true or false");
                    ro = p.Value.GetBoolean();
                    break;
                case "id": id = String(file, pat, p.Value); break;
                default: throw new ConfigFileException(file, pat, "is not a disk setting (path, readOnly, id)");
            }
        }
        if (path is null) throw new ConfigFileException(file, $"{at}.path", "is missing");
        var disk = new DiskConfig(path, ro, id);
        if (disk.Problem() is { } why) throw new ConfigFileException(file, at, why);
        return disk;
    }

    /// <summary>An interface as "tap=NAME[,mac=MAC]" or {tap, mac}.</summary>
    private static NetConfig Net(string file, string at, JsonElement e)
    {
        NetConfig net;
        string problem;
        if (e.ValueKind == JsonValueKind.String)
        {
            if (!NetSpec.TryParse(e.GetString()!, out net, out problem)) throw new ConfigFileException(file, at, problem);
            return net;
        }
        if (e.ValueKind != JsonValueKind.Object)
            throw new ConfigFileException(file, at, "must be \"tap=NAME[,mac=MAC]\" or an object with \"tap\"");
        string? tap = null, mac = null;
        foreach (var p in e.EnumerateObject())
        {
            string pat = $"{at}.{p.Name}";
            switch (p.Name)
            {
                case "tap": tap = String(file, pat, p.Value); break;
                case "mac": mac = String(file, pat, p.Value); break;
                default: throw new ConfigFileException(file, pat, "is not an interface setting (tap, mac)");
            }
        }
        if (tap is null) throw new ConfigFileException(file, $"{at}.tap", "is missing");
        if (!NetSpec.TryCreate(tap, mac, out net, out problem)) throw new ConfigFileException(file, at, problem);
        return net;
    }

    private static string String(string file, string at, JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new ConfigFileException(file, at, "must be a string");

    private static int Int(string file, string at, JsonElement e) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw new ConfigFileException(file, at, "must be an integer");
}
