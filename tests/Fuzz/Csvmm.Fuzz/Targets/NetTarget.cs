using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Net;
using Csvmm.Host.Native;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// virtio-net TX header handling and RX fill (plain and MRG_RXBUF) over <see cref="FuzzNetBackend"/>.
/// Input: one set-up byte (bit 0 MRG_RXBUF, bit 1 INDIRECT_DESC, bit 2 EVENT_IDX, bit 3 the backend
/// reports copied lengths, bits 4-7 log2 of the queue size mod 9), then actions on either queue:
/// driver writes, posted RX/TX buffers, incoming frames of any length, backend errors, kicks.
/// </summary>
public sealed class NetTarget : IFuzzTarget
{
    private const int MemorySize = 0x10000;
    private const int BufferArea = QueueDriver.DataArea;
    private const int BufferAreaSize = MemorySize - BufferArea;

    private readonly FuzzMemory _memory = new(MemorySize);
    private readonly Virtqueue[] _queues = [new Virtqueue(0, NetDevice.QueueSize), new Virtqueue(1, NetDevice.QueueSize)];
    private readonly QueueDriver[,] _drivers = new QueueDriver[2, 9];
    private readonly FuzzNetBackend _backend;
    private readonly NetDevice _device;

    public NetTarget()
    {
        for (int q = 0; q < 2; q++)
            for (int i = 0; i < 9; i++) _drivers[q, i] = new QueueDriver(_memory, q, (ushort)(1 << i));
        _backend = new FuzzNetBackend(_memory);
        _device = new NetDevice(_backend, MacAddress.FromName("fuzz0"));
    }

    public string Name => "net";

    public string Description => "set-up byte (mrg_rxbuf, indirect, event_idx, copied lengths, size), then actions on rx/tx";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte setup = input.U8();
        int sizeLog = (setup >> 4) % 9;
        ulong features = VirtioFeatures.Version1 | NetProtocol.FeatureGuestCsum | NetProtocol.FeatureGuestTso4
            | ((setup & 1) != 0 ? NetProtocol.FeatureMrgRxbuf : 0)
            | ((setup & 2) != 0 ? VirtioFeatures.IndirectDesc : 0)
            | ((setup & 4) != 0 ? VirtioFeatures.EventIdx : 0);

        _memory.Clear();
        _backend.Clear();
        _backend.ReportCopiedLength = (setup & 8) != 0;
        _device.Reset();
        for (int q = 0; q < 2; q++) _drivers[q, sizeLog].Activate(_queues[q], features);
        _device.Activate(_memory.Guest, _queues, features, NullInterrupt.Instance);

        while (!input.IsEmpty)
        {
            byte op = input.U8();
            int q = (op >> 3) & 1;
            var driver = _drivers[q, sizeLog];
            switch (op % 8)
            {
                case < 4:
                    driver.Act(op, ref input);
                    break;
                case 4:
                    PostBuffers(driver, q == NetProtocol.TxQueue, ref input);
                    break;
                case 5:
                    {
                        byte kind = input.U8();
                        // Lengths around the interesting edges: below the header, MTU-sized, the 64 KiB maximum.
                        int length = (kind & 3) switch
                        {
                            0 => input.U8(),
                            1 => input.U16() & 0x7FF,
                            2 => NetProtocol.HeaderSize + NetProtocol.MaxFrameSize - (input.U8() & 15),
                            _ => input.U16() + input.U8(),
                        };
                        _backend.Enqueue(input.Bytes(16), length);
                        if ((kind & 4) != 0) _backend.NextReadError = Errno.EIO;
                        _device.OnBackendReadable();
                        break;
                    }
                case 6:
                    _memory.Scribble(ref input, 63);
                    break;
                default:
                    _device.ProcessQueue(q);
                    driver.Check(_queues[q]);
                    break;
            }
        }
        for (int q = 0; q < 2; q++)
        {
            _device.ProcessQueue(q);
            _drivers[q, sizeLog].Check(_queues[q]);
        }
    }

    /// <summary>A chain of 1-4 buffers in the data area, in the queue's direction unless the input flips it; published.</summary>
    private void PostBuffers(QueueDriver driver, bool tx, ref FuzzInput input)
    {
        int mask = driver.Size - 1;
        int first = input.U8() & mask;
        byte sel = input.U8();
        int count = (sel & 3) + 1;
        bool writable = tx == ((sel & 4) != 0);
        int index = first;
        for (int s = 0; s < count; s++)
        {
            int at = BufferArea + input.U16() % BufferAreaSize;
            uint len = (sel & 8) != 0 ? input.U16() : (uint)(input.U8() + 12);
            if (!writable) _memory.Poke(at, input.Bytes(Math.Min((int)len, 16)));
            bool last = s == count - 1;
            int next = (index + 1) & mask;
            driver.WriteDescriptor(driver.DescTable + 16UL * (ulong)index, (ulong)at, len,
                (ushort)((last ? 0 : 1) | (writable ? 2 : 0)), (ushort)next);
            index = next;
        }
        driver.Publish((ushort)first);
    }
}
