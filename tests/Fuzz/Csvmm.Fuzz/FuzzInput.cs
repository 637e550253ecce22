namespace Csvmm.Fuzz;

/// <summary>
/// Reads a fuzz input front to back. Past the end every read yields zeros, so any byte string is a
/// valid program for a target and the fuzzer never wastes runs on "input too short".
/// </summary>
public ref struct FuzzInput
{
    private ReadOnlySpan<byte> _rest;

    public FuzzInput(ReadOnlySpan<byte> data) => _rest = data;

    public readonly bool IsEmpty => _rest.IsEmpty;

    public readonly int Remaining => _rest.Length;

    public byte U8()
    {
        if (_rest.IsEmpty) return 0;
        byte b = _rest[0];
        _rest = _rest[1..];
        return b;
    }

    public ushort U16() => (ushort)Little(2);

    public uint U32() => (uint)Little(4);

    public ulong U64() => Little(8);

    /// <summary>Up to <paramref name="count"/> bytes (fewer at the end of the input).</summary>
    public ReadOnlySpan<byte> Bytes(int count)
    {
        var b = _rest[..Math.Min(count, _rest.Length)];
        _rest = _rest[b.Length..];
        return b;
    }

    /// <summary>Everything not read yet.</summary>
    public ReadOnlySpan<byte> Rest()
    {
        var b = _rest;
        _rest = default;
        return b;
    }

    /// <summary>A little-endian value of <paramref name="count"/> bytes, zero-extended past the end.</summary>
    private ulong Little(int count)
    {
        var b = Bytes(count);
        ulong v = 0;
        for (int i = b.Length - 1; i >= 0; i--) v = (v << 8) | b[i];
        return v;
    }
}
