using System.Buffers.Binary;
using Csvmm.Devices.Virtio;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// Split-virtqueue chain walking (<see cref="Virtqueue.TryPopChain"/>) under a hostile driver.
/// Input: one byte of set-up (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bits 2-5 log2 of the queue size (mod 9)),
/// then actions: driver writes (descriptors, ring entries, avail.idx, raw bytes), pops, completions
/// and notification calls. Every popped chain is checked: its head is the available-ring entry at
/// last_avail, its buffers lie in guest RAM with readable ones first, and every completion lands in
/// the used ring with used.idx moving by exactly one.
/// </summary>
public sealed class VirtqueueTarget : IFuzzTarget
{
    private const int MemorySize = 0x10000;

    private readonly FuzzMemory _memory = new(MemorySize);
    private readonly Virtqueue _queue = new(0, 256);
    private readonly DescriptorChain _chain = new(256);
    private readonly QueueDriver[] _drivers = new QueueDriver[9];
    private readonly Queue<ushort> _outstanding = new();

    public VirtqueueTarget()
    {
        for (int i = 0; i < _drivers.Length; i++) _drivers[i] = new QueueDriver(_memory, 0, (ushort)(1 << i));
    }

    public string Name => "virtqueue";

    public string Description => "set-up byte (indirect, event_idx, size), then driver actions, pops and completions";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte setup = input.U8();
        var driver = _drivers[((setup >> 2) & 15) % _drivers.Length];
        ulong features = VirtioFeatures.Version1
            | ((setup & 1) != 0 ? VirtioFeatures.IndirectDesc : 0)
            | ((setup & 2) != 0 ? VirtioFeatures.EventIdx : 0);

        _memory.Clear();
        _outstanding.Clear();
        driver.Activate(_queue, features);

        while (!input.IsEmpty)
        {
            byte op = input.U8();
            switch (op % 8)
            {
                case < 4:
                    driver.Act(op, ref input);
                    break;
                case 4:
                    for (int n = (input.U8() & 15) + 1; n > 0; n--)
                        if (!PopOne(driver)) break;
                    break;
                case 5:
                    Complete(input.U32());
                    break;
                case 6:
                    _memory.Scribble(ref input, 31);
                    break;
                default:
                    _queue.EnableNotification();
                    _queue.NeedsInterrupt();
                    break;
            }
        }
    }

    /// <summary>Pops one chain and checks it against what the driver wrote; false when nothing was popped.</summary>
    private bool PopOne(QueueDriver driver)
    {
        var mem = _memory.Bytes;
        ushort lastAvail = _queue.LastAvail;
        ushort availIdx = BinaryPrimitives.ReadUInt16LittleEndian(mem.AsSpan((int)driver.AvailRing + 2));
        ushort expectedHead = BinaryPrimitives.ReadUInt16LittleEndian(
            mem.AsSpan((int)driver.AvailRing + 4 + 2 * (lastAvail & (driver.Size - 1))));
        bool wasBroken = _queue.IsBroken;

        var r = _queue.TryPopChain(_chain);
        switch (r)
        {
            case PopResult.Empty:
                if (!wasBroken && availIdx != lastAvail)
                    throw new FuzzInvariantException($"Empty with avail.idx {availIdx} != last_avail {lastAvail}");
                return false;
            case PopResult.RingCorrupt:
                if (!_queue.IsBroken || _queue.LastAvail != lastAvail)
                    throw new FuzzInvariantException("RingCorrupt without breaking the queue, or after consuming an entry");
                return false;
        }
        if (wasBroken) throw new FuzzInvariantException("a broken queue returned a chain");
        if (_chain.Head != expectedHead || _queue.LastAvail != (ushort)(lastAvail + 1))
            throw new FuzzInvariantException($"popped head {_chain.Head} at last_avail {lastAvail}; the ring holds {expectedHead}");
        if (_chain.Head >= driver.Size)
            throw new FuzzInvariantException($"popped head {_chain.Head} beyond the queue size {driver.Size}");
        CheckChain();
        _outstanding.Enqueue(_chain.Head);
        return true;
    }

    private void CheckChain()
    {
        ulong readable = 0, writable = 0;
        int readableCount = 0;
        bool seenWritable = false;
        foreach (var s in _chain.Segments)
        {
            if (s.Length == 0) throw new FuzzInvariantException("an empty segment was kept");
            if (!_memory.Guest.IsValidRange(s.Address, s.Length))
                throw new FuzzInvariantException($"segment 0x{s.Address:x}+0x{s.Length:x} is outside guest RAM");
            if (s.Writable) { writable += s.Length; seenWritable = true; }
            else
            {
                if (seenWritable) throw new FuzzInvariantException("a readable segment follows a writable one");
                readable += s.Length;
                readableCount++;
            }
        }
        if (_chain.Count > _queue.Size && _chain.Error == ChainError.None)
            throw new FuzzInvariantException($"a chain of {_chain.Count} buffers passed in a queue of {_queue.Size}");
        if (readable != _chain.ReadableLength || writable != _chain.WritableLength || readableCount != _chain.ReadableCount)
            throw new FuzzInvariantException("chain totals do not match its segments");
    }

    private void Complete(uint length)
    {
        if (!_outstanding.TryDequeue(out ushort head)) return;
        ushort before = _queue.NextUsed;
        _queue.AddUsed(head, length);
        var mem = _memory.Bytes.AsSpan();
        ulong used = _drivers[0].UsedRing; // same used ring address for every size
        ushort idx = BinaryPrimitives.ReadUInt16LittleEndian(mem[((int)used + 2)..]);
        int elem = (int)used + 4 + 8 * (before & (_queue.Size - 1));
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(mem[elem..]);
        uint len = BinaryPrimitives.ReadUInt32LittleEndian(mem[(elem + 4)..]);
        if (idx != (ushort)(before + 1) || _queue.NextUsed != idx)
            throw new FuzzInvariantException($"used.idx went from {before} to {idx} (device says {_queue.NextUsed}) for one completion");
        if (id != head || len != length)
            throw new FuzzInvariantException($"used element says ({id}, {len}), completed ({head}, {length})");
    }
}
