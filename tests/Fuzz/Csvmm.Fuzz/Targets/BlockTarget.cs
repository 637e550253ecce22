using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// virtio-blk request parsing and execution against a 64 KiB image on tmpfs. Input: one set-up byte
/// (bit 0 read-only image, bit 1 FLUSH, bit 2 INDIRECT_DESC, bit 3 EVENT_IDX, bits 4-7 log2 of the
/// queue size mod 9), then actions: raw driver writes, well-formed requests of any type with fuzzed
/// sectors, segment layouts and discard payloads, and queue processing.
/// </summary>
public sealed class BlockTarget : IFuzzTarget
{
    private const int MemorySize = 0x10000;
    private const int ImageBytes = 0x10000;
    private const int HeaderArea = QueueDriver.DataArea;           // 32 bytes per request slot
    private const int BufferArea = QueueDriver.DataArea + 0x2000;
    private const int BufferAreaSize = 0x5000;
    private const int StatusArea = 0xF000;

    private static readonly uint[] Types =
        [BlockProtocol.TypeIn, BlockProtocol.TypeOut, BlockProtocol.TypeFlush, BlockProtocol.TypeGetId,
         BlockProtocol.TypeDiscard, BlockProtocol.TypeWriteZeroes, 2, 0xFFFF_FFFF];

    private readonly FuzzMemory _memory = new(MemorySize);
    private readonly Virtqueue[] _queues = [new Virtqueue(0, BlockDevice.QueueSize)];
    private readonly QueueDriver[] _drivers = new QueueDriver[9];
    private readonly BlockBackend[] _backends;
    private readonly BlockDevice[] _devices;

    public BlockTarget()
    {
        for (int i = 0; i < _drivers.Length; i++) _drivers[i] = new QueueDriver(_memory, 0, (ushort)(1 << i));
        // The in-memory backend is a real file on tmpfs, so preadv/pwritev/fallocate run for real. It is
        // unlinked once open: the descriptors keep it alive and nothing is left behind.
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string dir = Path.Combine(root, $"csvmm-fuzz-blk-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _backends = new BlockBackend[2];
        _devices = new BlockDevice[2];
        for (int i = 0; i < 2; i++)
        {
            string path = Path.Combine(dir, i == 0 ? "rw.img" : "ro.img");
            File.WriteAllBytes(path, new byte[ImageBytes]);
            _backends[i] = BlockBackend.Open(path, readOnly: i == 1);
            _devices[i] = new BlockDevice(_backends[i], serial: "fuzz");
        }
        Directory.Delete(dir, recursive: true);
    }

    public string Name => "blk";

    public string Description => "set-up byte (ro, flush, indirect, event_idx, size), then driver actions, requests and kicks";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte setup = input.U8();
        var device = _devices[setup & 1];
        var driver = _drivers[(setup >> 4) % _drivers.Length];
        ulong features = VirtioFeatures.Version1
            | ((setup & 2) != 0 ? BlockProtocol.FeatureFlush : 0)
            | ((setup & 4) != 0 ? VirtioFeatures.IndirectDesc : 0)
            | ((setup & 8) != 0 ? VirtioFeatures.EventIdx : 0);

        _memory.Clear();
        var q = _queues[0];
        device.Reset();
        driver.Activate(q, features);
        device.Activate(_memory.Guest, _queues, features, NullInterrupt.Instance);

        while (!input.IsEmpty)
        {
            byte op = input.U8();
            switch (op % 8)
            {
                case < 4:
                    driver.Act(op, ref input);
                    break;
                case 4:
                case 5:
                    Request(driver, ref input);
                    break;
                case 6:
                    _memory.Scribble(ref input, 63);
                    break;
                default:
                    device.ProcessQueue(0);
                    driver.Check(q);
                    break;
            }
        }
        device.ProcessQueue(0);
        driver.Check(q);
    }

    /// <summary>
    /// A request laid out like a driver would: header descriptor, data descriptors (their direction
    /// follows the type unless the input flips it), status descriptor; then published.
    /// </summary>
    private void Request(QueueDriver driver, ref FuzzInput input)
    {
        int mask = driver.Size - 1;
        int first = input.U8() & mask;
        byte sel = input.U8();
        uint type = (sel & 8) == 0 ? Types[sel & 7] : input.U32();
        ulong sector = (sel & 16) == 0 ? input.U8() : input.U64();
        int dataSegments = (sel >> 5) & 3;
        bool flip = (sel & 0x80) != 0;
        bool deviceWrites = type is BlockProtocol.TypeIn or BlockProtocol.TypeGetId;

        int slot = first * 32;
        var header = _memory.Bytes.AsSpan(HeaderArea + slot, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(header, type);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], sector);

        int index = first;
        ushort Next(int i) => (ushort)((i + 1) & mask);
        driver.WriteDescriptor(driver.DescTable + 16UL * (ulong)index, (ulong)(HeaderArea + slot), 16, 1, Next(index));
        for (int s = 0; s < dataSegments; s++)
        {
            index = Next(index);
            int at = BufferArea + input.U16() % BufferAreaSize;
            uint len = (uint)(input.U8() * 16 + (input.U8() & 1) * 512);
            // Discard/write-zeroes segments (and write data) come from the input.
            if (!deviceWrites) _memory.Poke(at, input.Bytes((int)Math.Min(len, 64)));
            ushort flags = (ushort)(1 | ((deviceWrites ^ flip) ? 2 : 0));
            driver.WriteDescriptor(driver.DescTable + 16UL * (ulong)index, (ulong)at, len, flags, Next(index));
        }
        index = Next(index);
        driver.WriteDescriptor(driver.DescTable + 16UL * (ulong)index, (ulong)(StatusArea + first), 1, 2, 0);
        driver.Publish((ushort)first);
    }
}
