using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Csvmm.Kvm.State;

/// <summary>
/// Reads and checks a container written by <see cref="StateImageWriter"/>: magic, version, every
/// component inside the image, no tag twice, only known tags, nothing after the last component
/// but the checksum, and the checksum itself. Any failure is a <see cref="KvmStateFormatException"/>
/// whose message starts with what the image was meant to be ("vCPU state", "VM state").
/// </summary>
internal sealed class StateImageReader
{
    public const int HeaderSize = 8;
    public const int ComponentHeaderSize = 8;
    public const int ChecksumSize = 4;

    private readonly byte[] _image;
    private readonly string _what;
    private readonly Func<ushort, string?> _tagName;
    private readonly Dictionary<ushort, (int Offset, int Length)> _components = [];

    private StateImageReader(byte[] image, string what, Func<ushort, string?> tagName)
    {
        _image = image;
        _what = what;
        _tagName = tagName;
    }

    /// <summary>
    /// Parses <paramref name="image"/>; <paramref name="tagName"/> names each known tag (null
    /// for an unknown one, which is refused: a newer format comes with a new version number).
    /// </summary>
    public static StateImageReader Parse(ReadOnlySpan<byte> image, uint magic, ushort version, string what,
        Func<ushort, string?> tagName)
    {
        var reader = new StateImageReader(image.ToArray(), what, tagName);
        reader.ParseComponents(magic, version);
        return reader;
    }

    private void ParseComponents(uint magic, ushort version)
    {
        var image = _image.AsSpan();
        if (image.Length < HeaderSize + ChecksumSize)
            throw Fail($"is truncated: {image.Length} bytes, less than a header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(image) != magic)
            throw Fail("does not start with its magic number: not a csvmm state image, or garbled");
        ushort found = BinaryPrimitives.ReadUInt16LittleEndian(image[4..]);
        if (found != version)
            throw Fail($"has format version {found}, this csvmm reads version {version}");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(image[6..]);
        int end = image.Length - ChecksumSize;
        int offset = HeaderSize;
        for (int i = 0; i < count; i++)
        {
            if (end - offset < ComponentHeaderSize)
                throw Fail($"is truncated: it ends inside the header of component {i + 1} of {count}");
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(image[offset..]);
            ushort reserved = BinaryPrimitives.ReadUInt16LittleEndian(image[(offset + 2)..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(image[(offset + 4)..]);
            string name = _tagName(tag) ?? throw Fail($"has an unknown component tag {tag} (component {i + 1} of {count})");
            if (reserved != 0)
                throw Fail($"has a non-zero reserved field in component {name}");
            offset += ComponentHeaderSize;
            if (length > (uint)(end - offset))
                throw Fail($"is truncated: component {name} needs {length} bytes, {end - offset} remain");
            if (!_components.TryAdd(tag, (offset, (int)length)))
                throw Fail($"has component {name} twice");
            offset += (int)length;
        }
        if (offset != end)
            throw Fail($"has {end - offset} unexpected bytes after its {count} components (truncated or garbled)");
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(image[end..]);
        if (Crc32C.Compute(image[..end]) != expected)
            throw Fail("fails its checksum: the image was altered or damaged");
    }

    public bool Has(ushort tag) => _components.ContainsKey(tag);

    /// <summary>The payload of a component that must be present.</summary>
    public ReadOnlySpan<byte> Get(ushort tag)
    {
        if (!_components.TryGetValue(tag, out var c))
            throw Fail($"lacks its {_tagName(tag)} component");
        return _image.AsSpan(c.Offset, c.Length);
    }

    /// <summary>A component that holds exactly one <typeparamref name="T"/>.</summary>
    public unsafe T Read<T>(ushort tag) where T : unmanaged
    {
        var payload = Get(tag);
        if (payload.Length != sizeof(T))
            throw Fail($"has a {_tagName(tag)} component of {payload.Length} bytes, expected {sizeof(T)}");
        return MemoryMarshal.Read<T>(payload);
    }

    public T? ReadOptional<T>(ushort tag) where T : unmanaged => Has(tag) ? Read<T>(tag) : null;

    /// <summary>A component that holds an array of <typeparamref name="T"/>, at most <paramref name="max"/> of them.</summary>
    public unsafe T[] ReadArray<T>(ushort tag, int max) where T : unmanaged
    {
        var payload = Get(tag);
        if (payload.Length % sizeof(T) != 0)
            throw Fail($"has a {_tagName(tag)} component of {payload.Length} bytes, not a multiple of {sizeof(T)}");
        if (payload.Length / sizeof(T) > max)
            throw Fail($"has {payload.Length / sizeof(T)} entries in its {_tagName(tag)} component, at most {max} make sense");
        return MemoryMarshal.Cast<byte, T>(payload).ToArray();
    }

    public KvmStateFormatException Fail(string problem) => new($"{_what} {problem}");
}
