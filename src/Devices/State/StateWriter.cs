using System.Buffers.Binary;

namespace Csvmm.Devices.State;

/// <summary>
/// Writes a device's state for a snapshot: little-endian fixed-size values and length-prefixed
/// byte strings, in the order <see cref="StateReader"/> reads them back.
/// </summary>
public sealed class StateWriter
{
    private readonly MemoryStream _out = new();
    private readonly byte[] _scratch = new byte[8];

    public void U8(byte v) => _out.WriteByte(v);

    public void Bool(bool v) => _out.WriteByte(v ? (byte)1 : (byte)0);

    public void U16(ushort v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_scratch, v);
        _out.Write(_scratch, 0, 2);
    }

    public void U32(uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_scratch, v);
        _out.Write(_scratch, 0, 4);
    }

    public void I32(int v) => U32((uint)v);

    public void U64(ulong v)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_scratch, v);
        _out.Write(_scratch, 0, 8);
    }

    public void Bytes(ReadOnlySpan<byte> data)
    {
        U32((uint)data.Length);
        _out.Write(data);
    }

    public void String(string s) => Bytes(System.Text.Encoding.UTF8.GetBytes(s));

    /// <summary>A nested state, written by <paramref name="write"/>, as one length-prefixed blob.</summary>
    public void Section(Action<StateWriter> write)
    {
        var inner = new StateWriter();
        write(inner);
        Bytes(inner.ToArray());
    }

    public byte[] ToArray() => _out.ToArray();
}
