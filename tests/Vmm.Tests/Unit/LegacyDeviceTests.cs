using Csvmm.Devices.Bus;
using Csvmm.Devices.Legacy;
using Xunit;

namespace Csvmm.Vmm.Tests.Unit;

public sealed class LegacyDeviceTests
{
    [Fact]
    public void I8042_reset_command_requests_a_reset()
    {
        int resets = 0;
        var kbd = new I8042Controller(() => resets++);
        kbd.Write(I8042Controller.CommandPortOffset, [0xFE]);
        Assert.Equal(1, resets);
    }

    [Fact]
    public void I8042_control_byte_round_trips_through_commands_0x20_and_0x60()
    {
        var kbd = new I8042Controller(() => { });
        kbd.Write(4, [0x60]);
        kbd.Write(0, [0x31]);
        kbd.Write(4, [0x20]);
        Span<byte> b = stackalloc byte[1];
        kbd.Read(4, b);
        Assert.Equal(1, b[0] & 1); // output buffer full
        kbd.Read(0, b);
        Assert.Equal(0x31, b[0]);
        kbd.Read(4, b);
        Assert.Equal(0, b[0] & 1);
    }

    [Fact]
    public void I8042_status_never_reports_input_buffer_full_so_reboot_does_not_wait()
    {
        var kbd = new I8042Controller(() => { });
        Span<byte> b = stackalloc byte[1];
        kbd.Read(4, b);
        Assert.Equal(0, b[0] & 2);
    }

    private sealed class CountingLine : Csvmm.Devices.IInterruptLine
    {
        public int Count;
        public void Trigger() => Count++;
    }

    /// <summary>
    /// Firecracker's SendCtrlAltDel: set-2 make codes for Ctrl, Alt and Delete (E0 71) queued on
    /// the data port, IRQ 1 raised, and raised again while bytes remain to be read.
    /// </summary>
    [Fact]
    public void I8042_ctrl_alt_del_is_queued_as_set_2_scan_codes_with_keyboard_interrupts()
    {
        var irq = new CountingLine();
        var kbd = new I8042Controller(() => { }, irq);
        Assert.True(kbd.InjectCtrlAltDel());
        Assert.Equal(1, irq.Count);
        var bytes = new List<byte>();
        Span<byte> b = stackalloc byte[1];
        for (int i = 0; i < 4; i++)
        {
            kbd.Read(I8042Controller.CommandPortOffset, b);
            Assert.Equal(1, b[0] & 1);
            kbd.Read(I8042Controller.DataPortOffset, b);
            bytes.Add(b[0]);
        }
        Assert.Equal([0x14, 0x11, 0xE0, 0x71], bytes);
        Assert.Equal(4, irq.Count); // one per byte still waiting after a read, plus the first
        kbd.Read(I8042Controller.CommandPortOffset, b);
        Assert.Equal(0, b[0] & 1);
    }

    [Fact]
    public void I8042_keyboard_commands_are_acknowledged_and_a_full_buffer_refuses_injection()
    {
        var kbd = new I8042Controller(() => { });
        kbd.Write(I8042Controller.DataPortOffset, [0xF4]); // keyboard "enable scanning"
        Span<byte> b = stackalloc byte[1];
        kbd.Read(I8042Controller.DataPortOffset, b);
        Assert.Equal(0xFA, b[0]);
        for (int i = 0; i < 4; i++) Assert.True(kbd.InjectCtrlAltDel());
        Assert.False(kbd.InjectCtrlAltDel());
    }

    [Fact]
    public void Guest_control_reports_exit_status_and_marks()
    {
        int? status = null;
        byte? mark = null;
        var ctl = new GuestControl(s => status = s, m => mark = m);
        ctl.Write(GuestControl.MarkOffset, [123]);
        ctl.Write(GuestControl.ExitOffset, [3, 0, 0, 0]);
        Assert.Equal(3, status);
        Assert.Equal((byte)123, mark);
        Span<byte> magic = stackalloc byte[4];
        ctl.Read(GuestControl.MagicOffset, magic);
        Assert.Equal(GuestControl.Magic, BitConverter.ToUInt32(magic));
    }

    private sealed class Probe : IBusDevice
    {
        public ulong LastOffset;
        public void Read(ulong offset, Span<byte> data) { LastOffset = offset; data.Fill(0x11); }
        public void Write(ulong offset, ReadOnlySpan<byte> data) => LastOffset = offset;
    }

    [Fact]
    public void Bus_dispatches_by_range_and_reads_unclaimed_addresses_as_all_ones()
    {
        var bus = new DeviceBus("pio");
        var a = new Probe();
        var b = new Probe();
        bus.Register(0x3F8, 8, a, "a");
        bus.Register(0x60, 5, b, "b");
        Span<byte> data = stackalloc byte[1];
        Assert.True(bus.Read(0x3FD, data));
        Assert.Equal(5UL, a.LastOffset);
        Assert.True(bus.Write(0x64, data));
        Assert.Equal(4UL, b.LastOffset);
        Assert.False(bus.Read(0x80, data));
        Assert.Equal(0xFF, data[0]);
        Assert.False(bus.Write(0xCF8, data));
        Assert.Equal(1, bus.UnclaimedReads);
        Assert.Equal(1, bus.UnclaimedWrites);
    }

    [Fact]
    public void Bus_refuses_overlapping_devices_and_accesses_straddling_a_device_end()
    {
        var bus = new DeviceBus("mmio");
        bus.Register(0x1000, 0x1000, new Probe(), "a");
        Assert.Throws<ArgumentException>(() => bus.Register(0x1800, 0x1000, new Probe(), "b"));
        Span<byte> data = stackalloc byte[4];
        Assert.False(bus.Read(0x1FFE, data));
        Assert.Equal(0xFFFFFFFFu, BitConverter.ToUInt32(data));
    }
}
