namespace Csvmm.Devices.Virtio;

/// <summary>
/// A device's configuration space as bytes, filled in by the device, read by the driver at any
/// offset and width; bytes beyond the end read as zero. Reads come from vCPU threads: a device
/// that changes a field after activation does it with a single aligned store and then calls
/// <see cref="IVirtioInterrupt.NotifyConfigChanged"/>.
/// </summary>
public sealed class ConfigSpace(int size)
{
    private readonly byte[] _bytes = new byte[size];

    public Span<byte> Bytes => _bytes;

    public void Read(ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset >= (ulong)_bytes.Length) return;
        var src = _bytes.AsSpan((int)offset);
        src[..Math.Min(src.Length, data.Length)].CopyTo(data);
    }
}
