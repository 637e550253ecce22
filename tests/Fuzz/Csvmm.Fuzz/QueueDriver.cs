using System.Buffers.Binary;
using Csvmm.Devices.Virtio;

namespace Csvmm.Fuzz;

/// <summary>
/// Plays a hostile driver for one split virtqueue in <see cref="FuzzMemory"/>: fixed ring addresses
/// per queue index, with fuzz-chosen descriptors, available-ring entries and indices. Also checks
/// what any device must guarantee whatever the driver wrote: used.idx moves forward only by the
/// number of completions, and never completes more chains than it took.
/// </summary>
public sealed class QueueDriver
{
    /// <summary>Each queue gets 16 KiB: descriptors, available ring (+4 KiB), used ring (+8 KiB).</summary>
    public const int QueueStride = 0x4000;

    /// <summary>Buffers should point here (above the rings of up to two queues), though any address is allowed.</summary>
    public const int DataArea = 2 * QueueStride;

    private readonly FuzzMemory _memory;
    private ushort _availIdx;
    private ushort _lastAvail;
    private ushort _nextUsed;
    private long _taken;
    private long _completed;

    public QueueDriver(FuzzMemory memory, int index, ushort size)
    {
        _memory = memory;
        Index = index;
        Size = size;
        DescTable = (ulong)(index * QueueStride);
        AvailRing = DescTable + 0x1000;
        UsedRing = DescTable + 0x2000;
    }

    public int Index { get; }
    public ushort Size { get; }
    public ulong DescTable { get; }
    public ulong AvailRing { get; }
    public ulong UsedRing { get; }

    /// <summary>Points <paramref name="q"/> at this layout (as the transport would from the registers).</summary>
    private void Configure(Virtqueue q)
    {
        q.Size = Size;
        q.DescTableAddress = DescTable;
        q.AvailRingAddress = AvailRing;
        q.UsedRingAddress = UsedRing;
        q.Ready = true;
    }

    /// <summary>Resets <paramref name="q"/> and this driver, configures the layout and activates the queue.</summary>
    public void Activate(Virtqueue q, ulong features)
    {
        Reset();
        q.Reset();
        Configure(q);
        if (!q.TryActivate(_memory.Guest, features, out string reason))
            throw new FuzzInvariantException($"the fixed ring layout was refused: {reason}");
    }

    public void Reset()
    {
        _availIdx = _lastAvail = _nextUsed = 0;
        _taken = _completed = 0;
    }

    /// <summary>
    /// One driver action chosen by the input: a descriptor with a small address (likely inside RAM),
    /// a descriptor with raw 64-bit fields, an available-ring entry, or a raw avail.idx.
    /// </summary>
    public void Act(int action, ref FuzzInput input)
    {
        switch (action & 3)
        {
            case 0:
                {
                    int i = input.U8() & (Size - 1);
                    ulong addr = input.U16();
                    uint len = input.U16();
                    ushort flags = (ushort)(input.U8() & 7);
                    ushort next = input.U8();
                    WriteDescriptor(DescTable + (ulong)(16 * i), addr, len, flags, next);
                    break;
                }
            case 1:
                {
                    int i = input.U8() & (Size - 1);
                    WriteDescriptor(DescTable + (ulong)(16 * i), input.U64(), input.U32(), input.U16(), input.U16());
                    break;
                }
            case 2:
                Publish(input.U8());
                break;
            default:
                _availIdx = input.U16();
                WriteU16(AvailRing + 2, _availIdx);
                break;
        }
    }

    /// <summary>Adds <paramref name="head"/> to the available ring and bumps avail.idx.</summary>
    public void Publish(ushort head)
    {
        WriteU16(AvailRing + 4 + 2UL * (ulong)(_availIdx & (Size - 1)), head);
        _availIdx++;
        WriteU16(AvailRing + 2, _availIdx);
    }

    public void WriteDescriptor(ulong at, ulong addr, uint len, ushort flags, ushort next)
    {
        var d = _memory.Bytes.AsSpan((int)at, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>
    /// After the device processed <paramref name="q"/>: it completed no more chains than it took.
    /// (Which heads it completed is checked exactly by the virtqueue target and the property tests;
    /// here a hostile driver may alias buffers with the rings, so ring contents prove nothing.)
    /// </summary>
    public void Check(Virtqueue q)
    {
        ushort took = (ushort)(q.LastAvail - _lastAvail);
        ushort done = (ushort)(q.NextUsed - _nextUsed);
        _taken += took;
        _completed += done;
        if (_completed > _taken)
            throw new FuzzInvariantException($"queue {Index}: {_completed} completions for {_taken} chains taken");
        _lastAvail = q.LastAvail;
        _nextUsed = q.NextUsed;
    }

    private void WriteU16(ulong at, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_memory.Bytes.AsSpan((int)at), value);
}
