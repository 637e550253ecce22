using Csvmm.Host.Memory;
using Csvmm.Kvm;

namespace Csvmm.Fuzz;

/// <summary>
/// Guest RAM for a target: a pinned byte array behind <see cref="GuestMemory.FromArray"/>, so a
/// device access outside it throws <see cref="GuestMemoryException"/> instead of touching host memory.
/// Allocated once per process and cleared before each input.
/// </summary>
public sealed class FuzzMemory
{
    public FuzzMemory(int size)
    {
        Bytes = new byte[size];
        Guest = GuestMemory.FromArray(Bytes);
    }

    public byte[] Bytes { get; }

    public GuestMemory Guest { get; }

    public int Size => Bytes.Length;

    public void Clear() => Array.Clear(Bytes);

    /// <summary>True when host range [address, address+length) lies inside this guest RAM.</summary>
    public bool ContainsHost(nint address, nuint length)
    {
        var r = Guest.Regions[0];
        ulong off = (ulong)(address - r.HostAddress);
        return address >= r.HostAddress && off <= r.Size && length <= r.Size - off;
    }

    /// <summary>A raw guest write read from the input: u16 offset, u8 length (masked), the bytes.</summary>
    public void Scribble(ref FuzzInput input, int lengthMask)
    {
        int offset = input.U16();
        Poke(offset, input.Bytes(input.U8() & lengthMask));
    }

    /// <summary>Raw guest write, clipped at the end of RAM (the fuzzer's "the guest scribbles here").</summary>
    public void Poke(int offset, ReadOnlySpan<byte> data)
    {
        if ((uint)offset >= (uint)Bytes.Length) return;
        var dst = Bytes.AsSpan(offset);
        data[..Math.Min(data.Length, dst.Length)].CopyTo(dst);
    }
}
