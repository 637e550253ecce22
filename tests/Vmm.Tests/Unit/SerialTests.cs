using Csvmm.Devices;
using Csvmm.Devices.Legacy;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class SerialTests
{
    private sealed class Sink : ISerialSink
    {
        public readonly List<byte> Bytes = [];
        public void Write(byte value) => Bytes.Add(value);
    }

    private sealed class Line : IInterruptLine
    {
        public int Count;
        public void Trigger() => Count++;
    }

    private readonly Sink _sink = new();
    private readonly Line _irq = new();
    private readonly Serial16550 _uart;

    public SerialTests() => _uart = new Serial16550(_sink, _irq);

    private byte In(int reg)
    {
        Span<byte> b = stackalloc byte[1];
        _uart.Read((ulong)reg, b);
        return b[0];
    }

    private void Out(int reg, byte v) => _uart.Write((ulong)reg, [v]);

    [Fact]
    public void Transmitted_bytes_reach_the_sink_and_lsr_always_shows_thr_empty()
    {
        Out(0, (byte)'A');
        Out(0, (byte)'B');
        Assert.Equal("AB"u8.ToArray(), _sink.Bytes);
        Assert.Equal(0x60, In(5) & 0x60);
    }

    [Fact]
    public void Received_bytes_set_data_ready_until_read()
    {
        Assert.Equal(0, In(5) & 1);
        Assert.Equal(2, _uart.Enqueue("hi"u8));
        Assert.Equal(1, In(5) & 1);
        Assert.Equal((byte)'h', In(0));
        Assert.Equal((byte)'i', In(0));
        Assert.Equal(0, In(5) & 1);
    }

    [Fact]
    public void Ier_stores_its_low_four_bits()
    {
        Out(1, 0xFF);
        Assert.Equal(0x0F, In(1));
        Out(1, 0);
        Assert.Equal(0, In(1));
    }

    [Fact]
    public void Iir_reports_no_interrupt_with_fifo_bits_when_idle()
    {
        Assert.Equal(0xC1, In(2));
    }

    [Fact]
    public void Enabling_thri_raises_a_thr_empty_interrupt_that_an_iir_read_consumes()
    {
        Out(1, 0x02);
        Assert.Equal(1, _irq.Count);
        Assert.Equal(0xC2, In(2));
        Assert.Equal(0xC1, In(2));
    }

    [Fact]
    public void A_thr_write_rearms_the_thr_empty_interrupt()
    {
        Out(1, 0x02);
        In(2);
        int before = _irq.Count;
        Out(0, (byte)'x');
        Assert.Equal(before + 1, _irq.Count);
        Assert.Equal(0xC2, In(2));
    }

    [Fact]
    public void Input_with_rdi_enabled_raises_an_rx_interrupt_with_priority_over_thre()
    {
        Out(1, 0x03);
        int before = _irq.Count;
        _uart.Enqueue("z"u8);
        Assert.Equal(before + 1, _irq.Count);
        Assert.Equal(0xC4, In(2));
        In(0);
        Assert.Equal(0xC2, In(2));
    }

    [Fact]
    public void Rewriting_ier_reasserts_pending_input()
    {
        _uart.Enqueue("a"u8);
        Assert.Equal(0, _irq.Count); // RDI disabled: no interrupt yet
        Out(1, 0x01);
        Assert.Equal(1, _irq.Count);
        Out(1, 0x00);
        Out(1, 0x01);
        Assert.Equal(2, _irq.Count);
    }

    [Fact]
    public void Divisor_latch_is_separate_from_data_and_ier()
    {
        Out(3, 0x80);          // DLAB
        Out(0, 0x01);
        Out(1, 0x02);
        Assert.Equal(0x01, In(0));
        Assert.Equal(0x02, In(1));
        Out(3, 0x03);          // 8N1, DLAB off
        Assert.Equal(0, In(1));
        Assert.Empty(_sink.Bytes);
    }

    [Fact]
    public void Loopback_returns_written_bytes_and_mirrors_modem_lines()
    {
        Out(4, 0x10 | 0x0F);
        Out(0, 0x5A);
        Assert.Empty(_sink.Bytes);
        Assert.Equal(0x5A, In(0));
        Assert.Equal(0xF0, In(6) & 0xF0);
    }

    [Fact]
    public void Receive_fifo_is_bounded()
    {
        var big = new byte[Serial16550.RxCapacity + 10];
        Assert.Equal(Serial16550.RxCapacity, _uart.Enqueue(big));
        Assert.Equal(0, _uart.RxSpace);
    }

    [Fact]
    public void Scratch_register_round_trips() { Out(7, 0xA5); Assert.Equal(0xA5, In(7)); }
}
