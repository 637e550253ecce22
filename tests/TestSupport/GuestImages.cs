using System.Diagnostics;
using Xunit;

namespace Csvmm.Tests.Support;

/// <summary>
/// The guest kernel, initramfs and root filesystem that images/build.sh builds (cached outside the
/// clone). Paths come from the CSVMM_* environment variables when CSVMM_VMLINUX is set
/// (<c>./build.sh test</c> exports them), else from <c>images/build.sh --print-paths</c>, which
/// builds what is missing first. A test that boots a guest gets them through
/// <see cref="Instance"/>, which skips the test, with the reason, when they are not there.
/// </summary>
public sealed class GuestImages
{
    private static readonly string[] ImageKeys = ["CSVMM_BZIMAGE", "CSVMM_VMLINUX", "CSVMM_INITRAMFS", "CSVMM_ROOTFS"];
    private static readonly Lazy<GuestImages> Lazy = new(FromEnvironmentOrBuild, LazyThreadSafetyMode.ExecutionAndPublication);

    private GuestImages(IReadOnlyDictionary<string, string> paths, string? missing)
    {
        Paths = paths;
        MissingReason = missing ?? ImageKeys
            .Where(k => !File.Exists(paths.GetValueOrDefault(k, "")))
            .Select(k => $"guest image {k}={paths.GetValueOrDefault(k, "(not set)")} does not exist; build the images with ./build.sh")
            .FirstOrDefault();
    }

    /// <summary>The images for a guest boot; skips the calling test (a skippable fact) when they are missing.</summary>
    public static GuestImages Instance
    {
        get
        {
            var images = Lazy.Value;
            Skip.If(images.MissingReason is not null, images.MissingReason);
            return images;
        }
    }

    /// <summary>Every CSVMM_* line the images were described with.</summary>
    public IReadOnlyDictionary<string, string> Paths { get; }

    /// <summary>Null when every image file exists, else what is missing.</summary>
    public string? MissingReason { get; }

    public string BzImage => Paths.GetValueOrDefault("CSVMM_BZIMAGE", "");
    public string Vmlinux => Paths.GetValueOrDefault("CSVMM_VMLINUX", "");
    public string Initramfs => Paths.GetValueOrDefault("CSVMM_INITRAMFS", "");
    public string Rootfs => Paths.GetValueOrDefault("CSVMM_ROOTFS", "");

    /// <summary>The PCI kernel (virtio-pci, no virtio-mmio; images/README.md), for tests that need it.</summary>
    public string PciVmlinux => Paths.GetValueOrDefault("CSVMM_PCI_VMLINUX", "");
    public string PciBzImage => Paths.GetValueOrDefault("CSVMM_PCI_BZIMAGE", "");

    /// <summary>
    /// The virtio transport the microVM kernel (BzImage, Vmlinux) finds devices on: mmio.
    /// images/kernel.config leaves CONFIG_PCI off (no PCI bus probing, none of its boot time), so a
    /// VMM must declare virtio-mmio devices on the command line (csvmm --transport mmio) for this
    /// kernel to see its disks and NICs.
    /// </summary>
    public string Transport => "mmio";

    /// <summary>Options every guest needs on this host's command line (images/README.md, "Host facts").</summary>
    public string GuestCmdline => Paths.GetValueOrDefault("CSVMM_GUEST_CMDLINE", "");

    /// <summary>The clone this test run was built from (the directory with Vmm.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Vmm.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"repository root (Vmm.sln) not found above {AppContext.BaseDirectory}");
        }
    }

    private static GuestImages FromEnvironmentOrBuild()
    {
        if (Environment.GetEnvironmentVariable("CSVMM_VMLINUX") is not { Length: > 0 }) return FromBuildScript();
        var paths = new Dictionary<string, string>();
        foreach (var key in ImageKeys.Concat(["CSVMM_PCI_BZIMAGE", "CSVMM_PCI_VMLINUX", "CSVMM_GUEST_CMDLINE"]))
            if (Environment.GetEnvironmentVariable(key) is { } value) paths[key] = value;
        return new GuestImages(paths, null);
    }

    /// <summary>
    /// Runs <c>images/build.sh --print-paths</c> (building the images first if they are not in the
    /// cache: ~10 minutes cold) and reads the CSVMM_* lines it prints.
    /// </summary>
    public static GuestImages FromBuildScript()
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(RepoRoot, "images", "build.sh"), "--print-paths"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(30)))
        {
            p.Kill(entireProcessTree: true);
            return new GuestImages(new Dictionary<string, string>(), "images/build.sh --print-paths did not finish within 30 minutes");
        }
        if (p.ExitCode != 0)
        {
            string tail = string.Join(" / ", stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3));
            return new GuestImages(new Dictionary<string, string>(), $"images/build.sh --print-paths failed (exit {p.ExitCode}): {tail}");
        }
        return new GuestImages(ParseEnv(stdout), null);
    }

    /// <summary>Parses the CSVMM_*=value lines build.sh prints (values may be quoted).</summary>
    public static Dictionary<string, string> ParseEnv(string text)
    {
        var d = new Dictionary<string, string>();
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.Trim();
            int eq = line.IndexOf('=');
            if (!line.StartsWith("CSVMM_") || eq < 0) continue;
            string value = line[(eq + 1)..];
            if (value.Length >= 2 && (value[0] == '\'' || value[0] == '"') && value[^1] == value[0]) value = value[1..^1];
            d[line[..eq]] = value;
        }
        return d;
    }
}
