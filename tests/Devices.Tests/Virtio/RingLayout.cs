using Csvmm.Host.Memory;
using Xunit;
using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Kvm;

namespace Csvmm.Devices.Tests.Virtio;

/// <summary>
/// Plays the driver: lays out a split virtqueue in a plain byte array wrapped as guest memory,
/// writing descriptors and ring fields byte by byte (independent of the device code under test).
/// </summary>
public sealed class RingLayout : IDisposable
{
    public const ulong DescTable = 0x1000;
    public const ulong AvailRing = 0x2000;
    public const ulong UsedRing = 0x3000;
    public const ulong DataArea = 0x8000;

    public const ushort Next = 1;
    public const ushort Write = 2;
    public const ushort Indirect = 4;

    public RingLayout(ushort size = 16, int memorySize = 0x40000)
    {
        Size = size;
        Buffer = new byte[memorySize];
        Memory = GuestMemory.FromArray(Buffer);
    }

    public byte[] Buffer { get; }
    public GuestMemory Memory { get; }
    public ushort Size { get; }

    /// <summary>A queue configured on this layout (not yet activated).</summary>
    public Virtqueue NewQueue(ushort maxSize = 0)
    {
        var q = new Virtqueue(0, maxSize == 0 ? Size : maxSize)
        {
            Size = Size,
            DescTableAddress = DescTable,
            AvailRingAddress = AvailRing,
            UsedRingAddress = UsedRing,
            Ready = true,
        };
        return q;
    }

    public Virtqueue ActivatedQueue(ulong features = VirtioFeatures.Version1)
    {
        var q = NewQueue();
        Assert.True(q.TryActivate(Memory, features, out string reason), reason);
        return q;
    }

    public void SetDescriptor(int index, ulong addr, uint len, ushort flags = 0, ushort next = 0) =>
        SetDescriptorAt(DescTable, index, addr, len, flags, next);

    public void SetDescriptorAt(ulong table, int index, ulong addr, uint len, ushort flags = 0, ushort next = 0)
    {
        var d = Buffer.AsSpan((int)table + 16 * index, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    public ushort AvailIdx
    {
        get => U16(AvailRing + 2);
        set => SetU16(AvailRing + 2, value);
    }

    public ushort AvailFlags
    {
        get => U16(AvailRing);
        set => SetU16(AvailRing, value);
    }

    public ushort UsedEvent
    {
        get => U16(AvailRing + 4 + 2UL * Size);
        set => SetU16(AvailRing + 4 + 2UL * Size, value);
    }

    public ushort UsedIdx => U16(UsedRing + 2);

    public ushort AvailEvent => U16(UsedRing + 4 + 8UL * Size);

    /// <summary>Puts <paramref name="head"/> in the next available slot and bumps avail.idx.</summary>
    public void Publish(ushort head)
    {
        ushort idx = AvailIdx;
        SetU16(AvailRing + 4 + 2UL * (ulong)(idx % Size), head);
        AvailIdx = (ushort)(idx + 1);
    }

    public (uint Id, uint Len) UsedElement(ushort usedIndex)
    {
        int off = (int)UsedRing + 4 + 8 * (usedIndex % Size);
        return (BinaryPrimitives.ReadUInt32LittleEndian(Buffer.AsSpan(off)),
                BinaryPrimitives.ReadUInt32LittleEndian(Buffer.AsSpan(off + 4)));
    }

    public ushort U16(ulong gpa) => BinaryPrimitives.ReadUInt16LittleEndian(Buffer.AsSpan((int)gpa));

    public void SetU16(ulong gpa, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Buffer.AsSpan((int)gpa), value);

    public void Dispose() => Memory.Dispose();
}
