using System.Buffers.Binary;

namespace Csvmm.Devices.State;

/// <summary>
/// Reads what <see cref="StateWriter"/> wrote. Every read is bounds-checked: a short or malformed
/// state is a <see cref="StateFormatException"/>, never an out-of-range access.
/// </summary>
public ref struct StateReader
{
    private ReadOnlySpan<byte> _rest;

    public StateReader(ReadOnlySpan<byte> data) => _rest = data;

    public readonly bool IsEmpty => _rest.IsEmpty;

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _rest.Length)
            throw new StateFormatException($"device state ends {count - _rest.Length} bytes early");
        var r = _rest[..count];
        _rest = _rest[count..];
        return r;
    }

    public byte U8() => Take(1)[0];

    public bool Bool() => Take(1)[0] switch
    {
        0 => false,
        1 => true,
        var b => throw new StateFormatException($"device state has {b} where a flag (0 or 1) belongs"),
    };

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public int I32() => (int)U32();

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public ReadOnlySpan<byte> Bytes() => Take(checked((int)Math.Min(U32(), int.MaxValue)));

    public string String() => System.Text.Encoding.UTF8.GetString(Bytes());

    /// <summary>A nested state as its own reader.</summary>
    public StateReader Section() => new(Bytes());

    /// <summary>Throws unless every byte was consumed (a state written by another layout).</summary>
    public readonly void End(string what)
    {
        if (!_rest.IsEmpty) throw new StateFormatException($"{what}: {_rest.Length} bytes of state left over");
    }
}
