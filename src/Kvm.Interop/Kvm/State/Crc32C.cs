using System.Buffers.Binary;
using System.Numerics;

namespace Csvmm.Kvm.State;

/// <summary>CRC-32C (Castagnoli; initial value and final XOR 0xFFFFFFFF), with the CPU's crc32 instruction where it has one.</summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
