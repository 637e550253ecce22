using System.Text;

namespace Csvmm.Vmm.Boot;

/// <summary>Builds the guest's kernel command line.</summary>
public static class KernelCmdline
{
    /// <summary>
    /// csvmm's base options: serial console, i8042 reset as the way out (reboot=k, also used after a
    /// panic via panic=1), no PCI probe (virtio-mmio guests have no PCI bus), one legacy UART (8250.nr_uarts=1),
    /// and an i8042 probe that does not wait for an AUX port or PnP tables
    /// (Documentation/admin-guide/kernel-parameters.txt).
    /// </summary>
    public const string Base =
        "console=ttyS0 reboot=k panic=1 pci=off nomodule 8250.nr_uarts=1 " +
        "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";

    /// <summary>The base options when the devices are on PCI: the same, but the guest probes PCI.</summary>
    public const string BaseWithPci =
        "console=ttyS0 reboot=k panic=1 nomodule 8250.nr_uarts=1 " +
        "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd";

    /// <summary>
    /// Base options, then one <c>virtio_mmio.device=4K@ADDR:GSI</c> per device, then <c>root=</c> for the
    /// first disk unless the user sets one, then the user's own options. With
    /// <paramref name="userReplacesBase"/> the user's options stand in for the base ones
    /// (Firecracker's boot_args); the device declarations are still added.
    /// </summary>
    public static string Build(IEnumerable<(ulong MmioBase, uint Gsi)> virtioDevices, bool? rootReadOnly, string? user,
        bool userReplacesBase = false, bool pci = false, string? rootArgument = null)
    {
        var sb = new StringBuilder(userReplacesBase ? "" : pci ? BaseWithPci : Base);
        foreach (var (mmio, gsi) in virtioDevices)
            sb.Append(sb.Length == 0 ? "" : " ").Append("virtio_mmio.device=4K@0x").Append(mmio.ToString("x")).Append(':').Append(gsi);
        bool userSetsRoot = user is not null && HasParameter(user, "root");
        if (rootArgument is not null)
        {
            if (rootArgument.Length > 0) sb.Append(sb.Length == 0 ? "" : " ").Append(rootArgument);
        }
        else if (rootReadOnly is { } ro && !userSetsRoot)
            sb.Append(sb.Length == 0 ? "" : " ").Append("root=/dev/vda ").Append(ro ? "ro" : "rw");
        if (!string.IsNullOrWhiteSpace(user))
            sb.Append(sb.Length == 0 ? "" : " ").Append(user.Trim());
        return sb.ToString();
    }

    /// <summary>True when <paramref name="cmdline"/> has <c>name=...</c> as a parameter (not as a substring).</summary>
    public static bool HasParameter(string cmdline, string name)
    {
        foreach (var word in cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (word.StartsWith(name + "=", StringComparison.Ordinal))
                return true;
        return false;
    }
}
