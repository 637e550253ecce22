using Csvmm.Devices.Bus;
using Csvmm.Devices.State;

namespace Csvmm.Devices.Legacy;

/// <summary>
/// A 16550A UART (8 port registers, COM1 at 0x3f8 / IRQ 4). Transmission is instantaneous: a THR
/// write goes straight to the output sink, so LSR always reports THRE|TEMT and Linux's polled
/// console works with or without interrupts. Received bytes queue in a FIFO. Interrupts follow the
/// 16550 rules (TI/National PC16550D datasheet, "Interrupt Identification Register"): the line is pulsed whenever the interrupt condition becomes true,
/// including on every IER write, because Linux masks IER around console writes and expects pending
/// RX/THRE to re-assert afterwards.
/// </summary>
public sealed class Serial16550 : IBusDevice, ISnapshotDevice
{
    // Register offsets.
    private const int Data = 0, Ier = 1, Iir = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    // IER bits.
    private const byte IerRdi = 0x01, IerThri = 0x02, IerMask = 0x0F;

    // IIR values.
    private const byte IirNone = 0x01, IirThrEmpty = 0x02, IirRxData = 0x04, IirFifoBits = 0xC0;

    // LCR / MCR / LSR / MSR bits.
    private const byte LcrDlab = 0x80;
    private const byte McrLoop = 0x10, McrOut2 = 0x08;
    private const byte LsrDataReady = 0x01, LsrOverrun = 0x02, LsrThrEmpty = 0x20, LsrTxEmpty = 0x40;
    private const byte MsrDefault = 0xB0; // DCD | DSR | CTS

    /// <summary>Receive FIFO depth; host input beyond it waits in the caller.</summary>
    public const int RxCapacity = 64;

    private readonly object _lock = new();
    private readonly ISerialSink _sink;
    private readonly IInterruptLine _irq;
    private readonly byte[] _rx = new byte[RxCapacity];
    private int _rxHead, _rxCount;

    private byte _ier, _lcr, _mcr = McrOut2, _scr, _dll = 0x0C, _dlm;
    private bool _thrEmptyPending; // the THRI condition that an IIR read consumes
    private byte _lsrErrors;

    public Serial16550(ISerialSink sink, IInterruptLine irq)
    {
        _sink = sink;
        _irq = irq;
    }

    public long BytesTransmitted { get; private set; }
    public long BytesReceived { get; private set; }
    public long InterruptsRaised { get; private set; }

    /// <summary>Free space in the receive FIFO.</summary>
    public int RxSpace
    {
        get { lock (_lock) return RxCapacity - _rxCount; }
    }

    /// <summary>Queues host input for the guest; returns how many bytes fit (the rest must be retried).</summary>
    public int Enqueue(ReadOnlySpan<byte> input)
    {
        bool raise;
        int n;
        lock (_lock)
        {
            n = Math.Min(input.Length, RxCapacity - _rxCount);
            for (int i = 0; i < n; i++)
                _rx[(_rxHead + _rxCount + i) % RxCapacity] = input[i];
            _rxCount += n;
            BytesReceived += n;
            raise = n > 0 && (_ier & IerRdi) != 0;
        }
        if (raise) RaiseIrq();
        return n;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (data.IsEmpty) return;
        data.Fill(0);
        if (offset >= 8) { data.Fill(0xFF); return; }
        bool raise = false;
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch ((int)offset)
            {
                case Data when dlab: data[0] = _dll; break;
                case Data: data[0] = PopRx(); break;
                case Ier when dlab: data[0] = _dlm; break;
                case Ier: data[0] = _ier; break;
                case Iir:
                    data[0] = (byte)(CurrentIir() | IirFifoBits);
                    if ((data[0] & 0x0F) == IirThrEmpty) _thrEmptyPending = false;
                    break;
                case Lcr: data[0] = _lcr; break;
                case Mcr: data[0] = _mcr; break;
                case Lsr:
                    data[0] = (byte)(LsrThrEmpty | LsrTxEmpty | (_rxCount > 0 ? LsrDataReady : 0) | _lsrErrors);
                    _lsrErrors = 0;
                    break;
                case Msr: data[0] = LoopMsr(); break;
                case Scr: data[0] = _scr; break;
            }
            raise = false;
        }
        if (raise) RaiseIrq();
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || offset >= 8) return;
        byte v = data[0];
        bool raise = false;
        bool transmit = false;
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch ((int)offset)
            {
                case Data when dlab: _dll = v; break;
                case Data:
                    if ((_mcr & McrLoop) != 0) LoopbackReceive(v);
                    else transmit = true;
                    BytesTransmitted++;
                    // The byte left at once, so THR is empty again: re-arm THRI.
                    _thrEmptyPending = true;
                    raise = (_ier & IerThri) != 0 || ((_mcr & McrLoop) != 0 && (_ier & IerRdi) != 0);
                    break;
                case Ier when dlab: _dlm = v; break;
                case Ier:
                    byte old = _ier;
                    _ier = (byte)(v & IerMask);
                    if ((_ier & IerThri) != 0 && (old & IerThri) == 0) _thrEmptyPending = true;
                    raise = CurrentIir() != IirNone;
                    break;
                case Iir: // FCR
                    if ((v & 0x02) != 0) { _rxHead = 0; _rxCount = 0; }
                    break;
                case Lcr: _lcr = v; break;
                case Mcr: _mcr = (byte)(v & 0x1F); break;
                case Scr: _scr = v; break;
            }
        }
        if (transmit) _sink.Write(v);
        if (raise) RaiseIrq();
    }

    private byte CurrentIir()
    {
        if ((_ier & IerRdi) != 0 && _rxCount > 0) return IirRxData;
        if ((_ier & IerThri) != 0 && _thrEmptyPending) return IirThrEmpty;
        return IirNone;
    }

    private byte PopRx()
    {
        if (_rxCount == 0) return 0;
        byte b = _rx[_rxHead];
        _rxHead = (_rxHead + 1) % RxCapacity;
        _rxCount--;
        return b;
    }

    private void LoopbackReceive(byte v)
    {
        if (_rxCount == RxCapacity) { _lsrErrors |= LsrOverrun; return; }
        _rx[(_rxHead + _rxCount) % RxCapacity] = v;
        _rxCount++;
    }

    private byte LoopMsr()
    {
        if ((_mcr & McrLoop) == 0) return MsrDefault;
        // In loopback the modem outputs feed the inputs: CTS<-RTS, DSR<-DTR, RI<-OUT1, DCD<-OUT2.
        int m = 0;
        if ((_mcr & 0x02) != 0) m |= 0x10;
        if ((_mcr & 0x01) != 0) m |= 0x20;
        if ((_mcr & 0x04) != 0) m |= 0x40;
        if ((_mcr & 0x08) != 0) m |= 0x80;
        return (byte)m;
    }

    private void RaiseIrq()
    {
        InterruptsRaised++;
        _irq.Trigger();
    }

    public void Save(StateWriter w)
    {
        lock (_lock)
        {
            foreach (byte b in (ReadOnlySpan<byte>)[_ier, _lcr, _mcr, _scr, _dll, _dlm, _lsrErrors]) w.U8(b);
            w.Bool(_thrEmptyPending);
            var fifo = new byte[_rxCount];
            for (int i = 0; i < _rxCount; i++) fifo[i] = _rx[(_rxHead + i) % RxCapacity];
            w.Bytes(fifo);
        }
    }

    public void Restore(ref StateReader r)
    {
        lock (_lock)
        {
            _ier = r.U8(); _lcr = r.U8(); _mcr = r.U8(); _scr = r.U8(); _dll = r.U8(); _dlm = r.U8(); _lsrErrors = r.U8();
            _thrEmptyPending = r.Bool();
            var fifo = r.Bytes();
            if (fifo.Length > RxCapacity) throw new StateFormatException($"serial state has {fifo.Length} bytes in a {RxCapacity}-byte FIFO");
            fifo.CopyTo(_rx);
            _rxHead = 0;
            _rxCount = fifo.Length;
        }
    }
}
