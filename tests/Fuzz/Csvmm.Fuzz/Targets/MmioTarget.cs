using System.Buffers.Binary;
using Csvmm.Devices;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Mmio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Devices.Virtio.Net;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Csvmm.Fuzz.Targets;

/// <summary>
/// The virtio-mmio register state machine in front of a real virtio-blk or virtio-net device, fed a
/// sequence of register reads and writes of any width and offset, status changes, a full driver
/// handshake (so later accesses hit a live device), ring writes and queue processing. Input: one
/// set-up byte (bit 0: net instead of blk), then actions. Besides exceptions it checks the status
/// rules: DRIVER_OK never without FEATURES_OK, a live device only with DRIVER_OK, and a device
/// exception swallowed by the transport (logged as an error) counts as a crash.
/// </summary>
public sealed class MmioTarget : IFuzzTarget
{
    private const int MemorySize = 0x10000;

    private static readonly ulong[] Registers =
    [
        MmioRegisters.MagicValue, MmioRegisters.DeviceFeatures, MmioRegisters.DeviceFeaturesSel,
        MmioRegisters.DriverFeatures, MmioRegisters.DriverFeaturesSel, MmioRegisters.QueueSel,
        MmioRegisters.QueueNumMax, MmioRegisters.QueueNum, MmioRegisters.QueueReady, MmioRegisters.QueueNotify,
        MmioRegisters.InterruptStatus, MmioRegisters.InterruptAck, MmioRegisters.Status,
        MmioRegisters.QueueDescLow, MmioRegisters.QueueDescHigh, MmioRegisters.QueueDriverLow,
        MmioRegisters.QueueDriverHigh, MmioRegisters.QueueDeviceLow, MmioRegisters.QueueDeviceHigh,
        MmioRegisters.ConfigGeneration, MmioRegisters.Config, MmioRegisters.Config + 8,
    ];

    private readonly FuzzMemory _memory = new(MemorySize);
    private readonly ErrorSink _errors = new();
    private readonly VirtioMmioTransport[] _transports;
    private readonly QueueDriver[,] _drivers = new QueueDriver[2, 9];
    private readonly int[] _sizeLog = new int[2];
    private readonly byte[] _access = new byte[8];

    public MmioTarget()
    {
        var log = new LoggerConfiguration().MinimumLevel.Error().WriteTo.Sink(_errors).CreateLogger();
        // An image file for the blk device, unlinked once open (see BlockTarget).
        string path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(),
            $"csvmm-fuzz-mmio-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[0x10000]);
        var backend = BlockBackend.Open(path, readOnly: false, log);
        File.Delete(path);
        _transports =
        [
            new VirtioMmioTransport(new BlockDevice(backend, "fuzz", log), _memory.Guest, new NullLine(), log),
            new VirtioMmioTransport(new NetDevice(new FuzzNetBackend(_memory), MacAddress.FromName("fuzz0"), log), _memory.Guest, new NullLine(), log),
        ];
        for (int q = 0; q < 2; q++)
            for (int i = 0; i < 9; i++) _drivers[q, i] = new QueueDriver(_memory, q, (ushort)(1 << i));
    }

    public string Name => "mmio";

    public string Description => "set-up byte (blk or net), then register accesses, handshakes, ring writes and kicks";

    public void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        var t = _transports[input.U8() & 1];
        _memory.Clear();
        _errors.Clear();
        WriteRegister(t, MmioRegisters.Status, 0); // reset: the transport is reused between inputs
        _sizeLog[0] = _sizeLog[1] = 4;
        for (int q = 0; q < 2; q++) _drivers[q, 4].Reset();

        while (!input.IsEmpty)
        {
            byte op = input.U8();
            int q = (op >> 3) & 1;
            switch (op % 8)
            {
                case 0:
                    Access(t, read: true, input.U16() & 0x1FF, input.U8(), 0);
                    break;
                case 1:
                    Access(t, read: false, input.U16() & 0x1FF, input.U8(), input.U32());
                    break;
                case 2:
                    {
                        ulong reg = Registers[input.U8() % Registers.Length];
                        if ((op & 0x10) != 0) Access(t, read: true, (int)reg, 2, 0);
                        else WriteRegister(t, reg, input.U32());
                        break;
                    }
                case 3:
                    Handshake(t, ref input);
                    break;
                case 4:
                    if (q < t.QueueCount) _drivers[q, _sizeLog[q]].Act(input.U8(), ref input);
                    break;
                case 5:
                    if (q < t.QueueCount)
                    {
                        t.ProcessQueue(q);
                        if (t.IsActivated) _drivers[q, _sizeLog[q]].Check(t.Queues[q]);
                    }
                    break;
                case 6:
                    _memory.Scribble(ref input, 63);
                    break;
                default:
                    WriteRegister(t, MmioRegisters.Status, input.U8());
                    break;
            }
            CheckState(t);
        }
    }

    /// <summary>
    /// What a Linux driver does, with fuzzed choices: reset, ACKNOWLEDGE|DRIVER, features (the offered
    /// set masked by the input), FEATURES_OK, each queue at the <see cref="QueueDriver"/> layout with a
    /// fuzzed size, DRIVER_OK.
    /// </summary>
    private void Handshake(VirtioMmioTransport t, ref FuzzInput input)
    {
        byte sel = input.U8();
        ulong mask = input.U64();
        WriteRegister(t, MmioRegisters.Status, 0);
        WriteRegister(t, MmioRegisters.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        ulong offered = 0;
        for (uint w = 0; w < 2; w++)
        {
            WriteRegister(t, MmioRegisters.DeviceFeaturesSel, w);
            offered |= (ulong)ReadRegister(t, MmioRegisters.DeviceFeatures) << (int)(32 * w);
        }
        ulong wanted = (sel & 1) != 0 ? mask : (offered & mask) | VirtioFeatures.Version1;
        for (uint w = 0; w < 2; w++)
        {
            WriteRegister(t, MmioRegisters.DriverFeaturesSel, w);
            WriteRegister(t, MmioRegisters.DriverFeatures, (uint)(wanted >> (int)(32 * w)));
        }
        WriteRegister(t, MmioRegisters.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);
        for (int q = 0; q < t.QueueCount; q++)
        {
            int log = input.U8() % 9;
            _sizeLog[q] = log;
            var d = _drivers[q, log];
            d.Reset();
            WriteRegister(t, MmioRegisters.QueueSel, (uint)q);
            WriteRegister(t, MmioRegisters.QueueNum, d.Size);
            WriteRegister(t, MmioRegisters.QueueDescLow, (uint)d.DescTable);
            WriteRegister(t, MmioRegisters.QueueDescHigh, 0);
            WriteRegister(t, MmioRegisters.QueueDriverLow, (uint)d.AvailRing);
            WriteRegister(t, MmioRegisters.QueueDriverHigh, 0);
            WriteRegister(t, MmioRegisters.QueueDeviceLow, (uint)d.UsedRing);
            WriteRegister(t, MmioRegisters.QueueDeviceHigh, 0);
            WriteRegister(t, MmioRegisters.QueueReady, (sel & 2) != 0 && q == 0 ? 0u : 1u);
        }
        WriteRegister(t, MmioRegisters.Status,
            VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);
    }

    private void Access(VirtioMmioTransport t, bool read, int offset, byte sizeSel, uint value)
    {
        int size = (sizeSel & 3) switch { 0 => 1, 1 => 2, 2 => 4, _ => (sizeSel & 4) != 0 ? 8 : 3 };
        var buf = _access.AsSpan(0, size);
        if (read)
        {
            buf.Fill(0xCC);
            t.Read((ulong)offset, buf);
            // The bus relies on every byte being written, even for a refused access.
            if (size != 4 && offset < (int)MmioRegisters.Config && buf.IndexOf((byte)0xCC) >= 0)
                throw new FuzzInvariantException($"a {size}-byte register read at 0x{offset:x} left bytes unwritten");
        }
        else
        {
            buf.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(_access, value);
            t.Write((ulong)offset, buf);
        }
    }

    private uint ReadRegister(VirtioMmioTransport t, ulong offset)
    {
        t.Read(offset, _access.AsSpan(0, 4));
        return BinaryPrimitives.ReadUInt32LittleEndian(_access);
    }

    private void WriteRegister(VirtioMmioTransport t, ulong offset, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_access, value);
        t.Write(offset, _access.AsSpan(0, 4));
    }

    private void CheckState(VirtioMmioTransport t)
    {
        if (_errors.First is { } e)
            throw new FuzzInvariantException($"the transport swallowed a device failure: {e}");
        uint status = t.Status;
        if ((status & VirtioStatus.DriverOk) != 0 && (status & VirtioStatus.FeaturesOk) == 0)
            throw new FuzzInvariantException($"status 0x{status:x} has DRIVER_OK without FEATURES_OK");
        if (t.IsActivated && (status & VirtioStatus.DriverOk) == 0)
            throw new FuzzInvariantException($"device live with status 0x{status:x}");
    }

    private sealed class NullLine : IInterruptLine
    {
        public void Trigger()
        {
        }
    }
}
