using System.Buffers.Binary;

namespace Csvmm.Devices.Tests.Virtio.Net;

/// <summary>
/// The driver's view of one split virtqueue at chosen addresses inside a shared guest-memory array
/// (like <see cref="RingLayout"/>, which places a single queue at fixed addresses).
/// </summary>
public sealed class DriverQueue(byte[] memory, ulong desc, ulong avail, ulong used, ushort size)
{
    public const ushort Next = 1;
    public const ushort Write = 2;
    public const ushort Indirect = 4;

    private ushort _nextDescriptor;

    public ulong Desc { get; } = desc;
    public ulong Avail { get; } = avail;
    public ulong Used { get; } = used;
    public ushort Size { get; } = size;

    public void SetDescriptor(int index, ulong addr, uint len, ushort flags = 0, ushort next = 0)
    {
        var d = memory.AsSpan((int)Desc + 16 * index, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>
    /// Builds a chain from (address, length, writable) buffers in fresh descriptor slots (reused
    /// round-robin), publishes it and returns its head.
    /// </summary>
    public ushort Add(params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        if (_nextDescriptor + buffers.Length > Size) _nextDescriptor = 0;
        ushort head = _nextDescriptor;
        for (int i = 0; i < buffers.Length; i++)
        {
            var (a, l, w) = buffers[i];
            bool last = i == buffers.Length - 1;
            SetDescriptor(head + i, a, l, (ushort)((w ? Write : 0) | (last ? 0 : Next)), (ushort)(last ? 0 : head + i + 1));
        }
        _nextDescriptor += (ushort)buffers.Length;
        Publish(head);
        return head;
    }

    public void Publish(ushort head)
    {
        ushort idx = AvailIdx;
        SetU16(Avail + 4 + 2UL * (ulong)(idx % Size), head);
        SetU16(Avail + 2, (ushort)(idx + 1));
    }

    public ushort AvailIdx => U16(Avail + 2);

    public ushort UsedIdx => U16(Used + 2);

    public ushort UsedEvent
    {
        get => U16(Avail + 4 + 2UL * Size);
        set => SetU16(Avail + 4 + 2UL * Size, value);
    }

    public ushort AvailEvent => U16(Used + 4 + 8UL * Size);

    public (uint Id, uint Len) UsedElement(ushort usedIndex)
    {
        int off = (int)Used + 4 + 8 * (usedIndex % Size);
        return (BinaryPrimitives.ReadUInt32LittleEndian(memory.AsSpan(off)),
                BinaryPrimitives.ReadUInt32LittleEndian(memory.AsSpan(off + 4)));
    }

    private ushort U16(ulong gpa) => BinaryPrimitives.ReadUInt16LittleEndian(memory.AsSpan((int)gpa));

    private void SetU16(ulong gpa, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(memory.AsSpan((int)gpa), value);
}
