using System.Diagnostics;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// The guest kernel, initramfs and root filesystem from images/build.sh (cached outside the clone).
/// Paths come from CSVMM_* environment variables when set (CI exports them), else from
/// <c>images/build.sh --print-paths</c>.
/// </summary>
public sealed class GuestImages
{
    private static readonly Lazy<GuestImages> Lazy = new(Load);

    public static GuestImages Instance => Lazy.Value;

    public string BzImage { get; private init; } = "";
    public string Vmlinux { get; private init; } = "";
    /// <summary>The stock-config kernel: virtio-pci with MSI-X, no virtio-mmio (images/kernel-pci.config).</summary>
    public string PciBzImage { get; private init; } = "";
    public string Initramfs { get; private init; } = "";
    public string Rootfs { get; private init; } = "";
    /// <summary>Options this host needs on every guest command line (see images/README.md).</summary>
    public string GuestCmdline { get; private init; } = "";

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Vmm.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root (Vmm.sln) not found");
        }
    }

    private static GuestImages Load()
    {
        var values = new Dictionary<string, string>();
        foreach (var key in new[] { "CSVMM_BZIMAGE", "CSVMM_VMLINUX", "CSVMM_PCI_BZIMAGE", "CSVMM_INITRAMFS", "CSVMM_ROOTFS", "CSVMM_GUEST_CMDLINE" })
            if (Environment.GetEnvironmentVariable(key) is { } v) values[key] = v;

        if (!values.ContainsKey("CSVMM_VMLINUX") || !values.ContainsKey("CSVMM_PCI_BZIMAGE"))
        {
            var psi = new ProcessStartInfo("bash", $"{Path.Combine(RepoRoot, "images", "build.sh")} --print-paths")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var errTask = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"images/build.sh --print-paths failed ({p.ExitCode}): {errTask.Result}");
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = line.IndexOf('=');
                if (eq <= 0) continue;
                string value = line[(eq + 1)..].Trim();
                if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0]) value = value[1..^1];
                values[line[..eq]] = value;
            }
        }

        return new GuestImages
        {
            BzImage = values.GetValueOrDefault("CSVMM_BZIMAGE", ""),
            Vmlinux = values.GetValueOrDefault("CSVMM_VMLINUX", ""),
            PciBzImage = values.GetValueOrDefault("CSVMM_PCI_BZIMAGE", ""),
            Initramfs = values.GetValueOrDefault("CSVMM_INITRAMFS", ""),
            Rootfs = values.GetValueOrDefault("CSVMM_ROOTFS", ""),
            GuestCmdline = values.GetValueOrDefault("CSVMM_GUEST_CMDLINE", ""),
        };
    }
}
