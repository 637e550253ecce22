using System.Globalization;
using System.Text;

namespace Csvmm.Devices.Virtio.Net;

/// <summary>An Ethernet MAC address (6 bytes, transmission order).</summary>
public readonly record struct MacAddress(byte B0, byte B1, byte B2, byte B3, byte B4, byte B5)
{
    public bool IsMulticast => (B0 & 0x01) != 0;

    public bool IsLocallyAdministered => (B0 & 0x02) != 0;

    public bool IsZero => (B0 | B1 | B2 | B3 | B4 | B5) == 0;

    /// <summary>Usable as a NIC's own address: unicast and not all zeros.</summary>
    public bool IsValidUnicast => !IsMulticast && !IsZero;

    public void CopyTo(Span<byte> destination)
    {
        destination[0] = B0;
        destination[1] = B1;
        destination[2] = B2;
        destination[3] = B3;
        destination[4] = B4;
        destination[5] = B5;
    }

    /// <summary>
    /// A stable default for a TAP name: 02 (locally administered, unicast) followed by five bytes of
    /// the FNV-1a hash of the name, so a VM keeps its address (and its DHCP lease) across restarts.
    /// </summary>
    public static MacAddress FromName(string name)
    {
        ulong h = 0xcbf29ce484222325;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            h ^= b;
            h *= 0x100000001b3;
        }
        return new MacAddress(0x02, (byte)(h >> 32), (byte)(h >> 24), (byte)(h >> 16), (byte)(h >> 8), (byte)h);
    }

    /// <summary>Parses "aa:bb:cc:dd:ee:ff" (or '-' separated), hex digits in either case.</summary>
    public static bool TryParse(string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null || text.Length != 17) return false;
        Span<byte> b = stackalloc byte[6];
        char sep = text[2];
        if (sep is not (':' or '-')) return false;
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text[3 * i - 1] != sep) return false;
            if (!byte.TryParse(text.AsSpan(3 * i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out b[i]))
                return false;
        }
        mac = new MacAddress(b[0], b[1], b[2], b[3], b[4], b[5]);
        return true;
    }

    public override string ToString() => $"{B0:x2}:{B1:x2}:{B2:x2}:{B3:x2}:{B4:x2}:{B5:x2}";
}
