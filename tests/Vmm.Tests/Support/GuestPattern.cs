using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// The guest tool's deterministic data pattern (images/README.md): 64-bit little-endian words
/// w[k] = splitmix64(seed + (k+1) * 0x9E3779B97F4A7C15), so the host can recreate what the guest wrote.
/// </summary>
public static class GuestPattern
{
    public static byte[] Generate(int bytes, ulong seed = 1)
    {
        var data = new byte[bytes];
        for (int k = 0; k < bytes / 8; k++)
        {
            ulong z = seed + (ulong)(k + 1) * 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(k * 8), z);
        }
        return data;
    }

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string FileSha256(string path, long bytes)
    {
        using var f = File.OpenRead(path);
        var buf = new byte[bytes];
        f.ReadExactly(buf);
        return Sha256(buf);
    }
}
