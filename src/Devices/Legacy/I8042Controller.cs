using Csvmm.Devices.Bus;
using Csvmm.Devices.State;

namespace Csvmm.Devices.Legacy;

/// <summary>
/// The part of an i8042 keyboard controller a microVM needs (Firecracker's subset): status and
/// data ports, the control byte (0x20/0x60), the output port (0xD0/0xD1), the CPU reset command
/// 0xFE that Linux's <c>reboot=k</c> issues, a dumb keyboard that acknowledges every command
/// (0xFA), and Ctrl+Alt+Del injected as keyboard input on IRQ 1 — what Firecracker's
/// SendCtrlAltDel action does; a guest with the i8042 and AT keyboard drivers and a virtual
/// terminal reboots on it (drivers/tty/vt/keyboard.c, fn_boot_it). The device sits at 0x60 with a
/// length of 5, so offset 0 is the data port and offset 4 the status/command port.
/// </summary>
public sealed class I8042Controller : IBusDevice, ISnapshotDevice
{
    public const ulong DataPortOffset = 0;
    public const ulong CommandPortOffset = 4;

    private const byte StatusOutputFull = 0x01;
    private const byte StatusSystemFlag = 0x04;
    private const byte StatusCommandData = 0x08;
    private const byte StatusKeyboardEnabled = 0x10;

    private const byte ControlKeyboardInterrupt = 0x01;

    private const byte CmdReadControl = 0x20;
    private const byte CmdWriteControl = 0x60;
    private const byte CmdReadOutputPort = 0xD0;
    private const byte CmdWriteOutputPort = 0xD1;
    private const byte CmdPulseReset = 0xFE;

    private const byte KeyboardAck = 0xFA;

    /// <summary>Scan code set 2 make codes: left Ctrl, left Alt, Delete (extended, E0 71).</summary>
    private static readonly byte[] CtrlAltDel = [0x14, 0x11, 0xE0, 0x71];

    private const int BufferSize = 16;

    private readonly Lock _lock = new();
    private readonly Action _onReset;
    private readonly IInterruptLine? _keyboardIrq;
    private readonly Queue<byte> _output = new(BufferSize);
    // No translation bit: Linux then drives the keyboard untranslated (set 2), the codes injected
    // here (i8042_controller_init in drivers/input/serio/i8042.c sets i8042_direct).
    private byte _control = ControlKeyboardInterrupt | StatusSystemFlag;
    private byte _outputPort = 0x01;
    private byte _pendingCommand;
    private byte _status = StatusSystemFlag | StatusKeyboardEnabled;

    /// <param name="onReset">The guest pulsed the CPU reset line.</param>
    /// <param name="keyboardIrq">IRQ 1, raised when keyboard bytes wait in the output buffer.</param>
    public I8042Controller(Action onReset, IInterruptLine? keyboardIrq = null)
    {
        _onReset = onReset;
        _keyboardIrq = keyboardIrq;
    }

    public long ResetRequests { get; private set; }

    public void Read(ulong offset, Span<byte> data)
    {
        data.Fill(0xFF);
        if (data.IsEmpty) return;
        bool interrupt = false;
        lock (_lock)
        {
            switch (offset)
            {
                case DataPortOffset:
                    data[0] = _output.Count > 0 ? _output.Dequeue() : (byte)0;
                    if (_output.Count == 0) _status &= unchecked((byte)~StatusOutputFull);
                    // More bytes waiting: another interrupt tells the driver to read again.
                    else interrupt = KeyboardInterruptEnabled;
                    break;
                case CommandPortOffset:
                    data[0] = _status;
                    break;
            }
        }
        if (interrupt) _keyboardIrq?.Trigger();
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        byte v = data[0];
        bool reset = false, interrupt = false;
        lock (_lock)
        {
            switch (offset)
            {
                case CommandPortOffset:
                    switch (v)
                    {
                        case CmdReadControl: Reply(_control); break;
                        case CmdReadOutputPort: Reply(_outputPort); break;
                        case CmdWriteControl:
                        case CmdWriteOutputPort:
                            _output.Clear();
                            _status |= StatusCommandData;
                            _pendingCommand = v;
                            break;
                        case CmdPulseReset: reset = true; break;
                    }
                    break;
                case DataPortOffset when (_status & StatusCommandData) != 0:
                    _status &= unchecked((byte)~StatusCommandData);
                    if (_pendingCommand == CmdWriteControl) _control = v;
                    else if (_pendingCommand == CmdWriteOutputPort)
                    {
                        _outputPort = v;
                        // Bit 0 of the output port is the CPU reset line (active low).
                        if ((v & 0x01) == 0) reset = true;
                    }
                    _pendingCommand = 0;
                    break;
                case DataPortOffset:
                    // A byte for the keyboard itself: a dumb keyboard acknowledges everything.
                    Reply(KeyboardAck);
                    interrupt = KeyboardInterruptEnabled;
                    break;
            }
            if (reset) ResetRequests++;
        }
        if (interrupt) _keyboardIrq?.Trigger();
        if (reset) _onReset();
    }

    /// <summary>
    /// Queues Ctrl+Alt+Del as keyboard input and raises IRQ 1. False when the output buffer has no
    /// room for the whole sequence.
    /// </summary>
    public bool InjectCtrlAltDel()
    {
        bool interrupt;
        lock (_lock)
        {
            if (BufferSize - _output.Count < CtrlAltDel.Length) return false;
            foreach (byte b in CtrlAltDel) _output.Enqueue(b);
            _status |= StatusOutputFull;
            interrupt = KeyboardInterruptEnabled;
        }
        if (interrupt) _keyboardIrq?.Trigger();
        return true;
    }

    private bool KeyboardInterruptEnabled => (_control & ControlKeyboardInterrupt) != 0;

    /// <summary>A controller answer replaces whatever waited in the output buffer.</summary>
    private void Reply(byte value)
    {
        _output.Clear();
        _output.Enqueue(value);
        _status |= StatusOutputFull;
    }

    public void Save(StateWriter w)
    {
        lock (_lock)
        {
            w.U8(_control);
            w.U8(_outputPort);
            w.U8(_pendingCommand);
            w.U8(_status);
            w.Bytes(_output.ToArray());
        }
    }

    public void Restore(ref StateReader r)
    {
        lock (_lock)
        {
            _control = r.U8();
            _outputPort = r.U8();
            _pendingCommand = r.U8();
            _status = r.U8();
            var output = r.Bytes();
            if (output.Length > BufferSize) throw new StateFormatException($"i8042 state has {output.Length} bytes in a {BufferSize}-byte buffer");
            _output.Clear();
            foreach (byte b in output) _output.Enqueue(b);
        }
    }
}
