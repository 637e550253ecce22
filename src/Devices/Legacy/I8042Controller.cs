using Csvmm.Devices.Bus;

namespace Csvmm.Devices.Legacy;

/// <summary>
/// The part of an i8042 keyboard controller a microVM needs (Firecracker's subset): status and
/// data ports, the control byte (0x20/0x60), the output port (0xD0/0xD1) and the CPU reset command
/// 0xFE that Linux's <c>reboot=k</c> issues. The device sits at 0x60 with a length of 5, so offset 0
/// is the data port and offset 4 the status/command port.
/// </summary>
public sealed class I8042Controller : IBusDevice
{
    public const ulong DataPortOffset = 0;
    public const ulong CommandPortOffset = 4;

    private const byte StatusOutputFull = 0x01;
    private const byte StatusSystemFlag = 0x04;
    private const byte StatusCommandData = 0x08;
    private const byte StatusKeyboardEnabled = 0x10;

    private const byte CmdReadControl = 0x20;
    private const byte CmdWriteControl = 0x60;
    private const byte CmdReadOutputPort = 0xD0;
    private const byte CmdWriteOutputPort = 0xD1;
    private const byte CmdPulseReset = 0xFE;

    private readonly object _lock = new();
    private readonly Action _onReset;
    private byte _control = 0x45; // keyboard IRQ enabled, system flag, translation
    private byte _outputPort = 0x01;
    private byte _pendingCommand;
    private byte _status = StatusSystemFlag | StatusKeyboardEnabled;
    private byte _output;

    public I8042Controller(Action onReset) => _onReset = onReset;

    public long ResetRequests { get; private set; }

    public void Read(ulong offset, Span<byte> data)
    {
        data.Fill(0xFF);
        if (data.IsEmpty) return;
        lock (_lock)
        {
            switch (offset)
            {
                case DataPortOffset:
                    data[0] = _output;
                    _status &= unchecked((byte)~StatusOutputFull);
                    break;
                case CommandPortOffset:
                    data[0] = _status;
                    break;
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        byte v = data[0];
        bool reset = false;
        lock (_lock)
        {
            switch (offset)
            {
                case CommandPortOffset:
                    _status |= StatusCommandData;
                    switch (v)
                    {
                        case CmdReadControl: Output(_control); break;
                        case CmdReadOutputPort: Output(_outputPort); break;
                        case CmdWriteControl:
                        case CmdWriteOutputPort: _pendingCommand = v; break;
                        case CmdPulseReset: reset = true; break;
                    }
                    break;
                case DataPortOffset:
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
            }
            if (reset) ResetRequests++;
        }
        if (reset) _onReset();
    }

    private void Output(byte value)
    {
        _output = value;
        _status |= StatusOutputFull;
    }
}
