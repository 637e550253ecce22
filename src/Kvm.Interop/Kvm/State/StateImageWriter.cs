using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Csvmm.Kvm.State;

/// <summary>
/// Writes the container <see cref="StateImageReader"/> reads: a header (4-byte magic, u16 format
/// version, u16 component count), then per component a u16 tag, a u16 zero, a u32 byte length and
/// the payload, then a CRC-32C of everything before it. Integers are little-endian; payloads are
/// the KVM structs' bytes as the x86-64 kernel lays them out (also little-endian).
/// </summary>
internal sealed class StateImageWriter(uint magic, ushort version)
{
    private readonly MemoryStream _components = new();
    private int _count;

    public void Add<T>(ushort tag, in T value) where T : unmanaged =>
        Add(tag, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    public void AddArray<T>(ushort tag, ReadOnlySpan<T> values) where T : unmanaged =>
        Add(tag, MemoryMarshal.AsBytes(values));

    public void Add(ushort tag, ReadOnlySpan<byte> payload)
    {
        Span<byte> head = stackalloc byte[StateImageReader.ComponentHeaderSize];
        BinaryPrimitives.WriteUInt16LittleEndian(head, tag);
        BinaryPrimitives.WriteUInt16LittleEndian(head[2..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], (uint)payload.Length);
        _components.Write(head);
        _components.Write(payload);
        _count++;
    }

    public byte[] ToArray()
    {
        int bodyLength = StateImageReader.HeaderSize + (int)_components.Length;
        var image = new byte[bodyLength + StateImageReader.ChecksumSize];
        BinaryPrimitives.WriteUInt32LittleEndian(image, magic);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(4), version);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(6), checked((ushort)_count));
        _components.GetBuffer().AsSpan(0, (int)_components.Length).CopyTo(image.AsSpan(StateImageReader.HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(bodyLength), Crc32C.Compute(image.AsSpan(0, bodyLength)));
        return image;
    }
}
