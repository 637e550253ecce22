using System.Buffers.Binary;
using Csvmm.Devices.Pci;
using Csvmm.Devices.Tests.Virtio;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Pci;
using Xunit;

namespace Csvmm.Devices.Tests.Pci;

/// <summary>
/// virtio-pci as Linux's virtio_pci_modern driver uses it: capabilities, the common configuration,
/// the ISR, MSI-X per queue with masking and pending bits, and a hostile driver's garbage.
/// </summary>
public sealed class VirtioPciTransportTests : IDisposable
{
    private const ulong Common = VirtioPciTransport.CommonOffset;
    private const ulong Table = VirtioPciTransport.MsixTableOffset;
    private const ulong Pba = VirtioPciTransport.MsixPbaOffset;

    private readonly RingLayout _ring = new();
    private readonly FakeVirtioDevice _device = new();
    private readonly FakeMsi _msi = new();
    private readonly VirtioPciTransport _t;

    public VirtioPciTransportTests()
    {
        _t = new VirtioPciTransport(new VirtioTransportCore(_device, _ring.Memory), _msi, 0xE0000000, "test");
        _t.Config.Attach(_t, new FakeBarMapper());
    }

    public void Dispose()
    {
        _t.Dispose();
        _ring.Dispose();
    }

    private uint Read(ulong offset, int width)
    {
        Span<byte> b = stackalloc byte[8];
        _t.Read(offset, b[..width]);
        return width == 1 ? b[0] : width == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private void Write(ulong offset, int width, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _t.Write(offset, b[..width]);
    }

    private byte ConfigByte(int offset)
    {
        Span<byte> b = stackalloc byte[1];
        _t.Config.Read(offset, b);
        return b[0];
    }

    /// <summary>The capability list, walked as Linux's vp_modern_probe walks it.</summary>
    private List<(int Offset, byte Id, byte CfgType, uint BarOffset, uint Length)> Capabilities()
    {
        var list = new List<(int, byte, byte, uint, uint)>();
        Span<byte> c = stackalloc byte[16];
        for (int at = ConfigByte(PciConfigSpace.CapabilitiesPointer); at != 0; at = ConfigByte(at + 1))
        {
            _t.Config.Read(at, c);
            list.Add((at, c[0], c[3], BinaryPrimitives.ReadUInt32LittleEndian(c[8..]), BinaryPrimitives.ReadUInt32LittleEndian(c[12..])));
        }
        return list;
    }

    private void BringUp(ushort queue0Vector = 1, ushort configVector = 0)
    {
        Write(Common + 0x14, 1, 0);
        Write(Common + 0x14, 1, VirtioStatus.Acknowledge | VirtioStatus.Driver);
        Write(Common + 0x08, 4, 1);
        Write(Common + 0x0C, 4, 1); // VERSION_1 (bit 32)
        Write(Common + 0x08, 4, 0);
        Write(Common + 0x0C, 4, 0);
        Write(Common + 0x14, 1, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk);
        Assert.Equal(VirtioStatus.FeaturesOk, Read(Common + 0x14, 1) & VirtioStatus.FeaturesOk);
        Write(Common + 0x10, 2, configVector);
        Write(Common + 0x16, 2, 0);
        Write(Common + 0x18, 2, _ring.Size);
        Write(Common + 0x1A, 2, queue0Vector);
        Write(Common + 0x20, 4, (uint)RingLayout.DescTable);
        Write(Common + 0x24, 4, 0);
        Write(Common + 0x28, 4, (uint)RingLayout.AvailRing);
        Write(Common + 0x2C, 4, 0);
        Write(Common + 0x30, 4, (uint)RingLayout.UsedRing);
        Write(Common + 0x34, 4, 0);
        Write(Common + 0x1C, 2, 1);
        Write(Common + 0x14, 1, VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);
        Assert.True(_t.Core.IsActivated);
    }

    private void ProgramVector(int vector, ulong address, uint data, bool masked)
    {
        Write(Table + (ulong)vector * 16, 4, (uint)address);
        Write(Table + (ulong)vector * 16 + 4, 4, (uint)(address >> 32));
        Write(Table + (ulong)vector * 16 + 8, 4, data);
        Write(Table + (ulong)vector * 16 + 12, 4, masked ? 1u : 0u);
    }

    private void EnableMsix(bool functionMask = false)
    {
        int cap = Capabilities().Single(c => c.Id == MsixTable.CapabilityId).Offset;
        ushort control = (ushort)(MsixTable.ControlEnable | (functionMask ? MsixTable.ControlFunctionMask : 0));
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, control);
        _t.Config.Write(cap + 2, b);
    }

    [Fact]
    public void Identity_is_modern_virtio_with_the_vendor_capabilities_and_msix()
    {
        Span<byte> id = stackalloc byte[4];
        _t.Config.Read(0, id);
        Assert.Equal(0x1AF4, BinaryPrimitives.ReadUInt16LittleEndian(id));
        Assert.Equal(0x1040 + 42, BinaryPrimitives.ReadUInt16LittleEndian(id[2..]));
        Assert.Equal(1, ConfigByte(PciConfigSpace.RevisionId));
        var caps = Capabilities();
        Assert.Equal([1, 2, 3, 4], caps.Where(c => c.Id == 0x09).Select(c => (int)c.CfgType));
        var common = caps.Single(c => c.Id == 0x09 && c.CfgType == 1);
        Assert.Equal((uint)VirtioPciTransport.CommonOffset, common.BarOffset);
        Assert.True(common.Length >= 0x38); // struct virtio_pci_common_cfg in Linux 6.1
        Assert.Single(caps, c => c.Id == MsixTable.CapabilityId);
        Assert.Equal(0, ConfigByte(PciConfigSpace.InterruptPin));
    }

    [Fact]
    public void Driver_brings_the_device_up_through_the_common_configuration()
    {
        BringUp();
        Assert.Equal(1, _device.Activations);
        Assert.Equal(2u, Read(Common + 0x12, 2)); // num_queues
        Write(Common + 0x16, 2, 1);
        Assert.Equal(1u, Read(Common + 0x1E, 2)); // queue_notify_off
        Assert.Equal(8u, Read(Common + 0x18, 2)); // queue 1's maximum size
    }

    [Fact]
    public void Vector_beyond_the_table_reads_back_as_no_vector()
    {
        Write(Common + 0x10, 2, 77);
        Assert.Equal(VirtioPciTransport.NoVector, Read(Common + 0x10, 2));
        Write(Common + 0x10, 2, 2);
        Assert.Equal(2u, Read(Common + 0x10, 2));
    }

    [Fact]
    public void Used_buffers_raise_the_queues_msix_vector_not_the_config_vector()
    {
        BringUp(queue0Vector: 1, configVector: 0);
        ProgramVector(0, 0xFEE00000, 0x30, masked: false);
        ProgramVector(1, 0xFEE00000, 0x31, masked: false);
        EnableMsix();
        _t.SignalQueue(0);
        Assert.Equal(1, _msi.Vectors[1].Triggers);
        Assert.Equal(0, _msi.Vectors[0].Triggers);
        Assert.Equal((0xFEE00000UL, 0x31u), _msi.Vectors[1].Route);
    }

    /// <summary>A masked vector that fires sets its pending bit; unmasking delivers it once (PCI 3.0 §6.8.2.9).</summary>
    [Fact]
    public void Masked_vector_is_pending_and_delivered_when_unmasked()
    {
        BringUp();
        ProgramVector(1, 0xFEE00000, 0x31, masked: true);
        EnableMsix();
        _t.SignalQueue(0);
        Assert.Equal(0, _msi.Vectors[1].Triggers);
        Assert.Equal(0b10u, Read(Pba, 4) & 0b10);
        Write(Table + 16 + 12, 4, 0); // unmask
        Assert.Equal(1, _msi.Vectors[1].Triggers);
        Assert.Equal(0u, Read(Pba, 4) & 0b10);
    }

    [Fact]
    public void Function_mask_holds_every_vector_back()
    {
        BringUp();
        ProgramVector(1, 0xFEE00000, 0x31, masked: false);
        EnableMsix(functionMask: true);
        _t.SignalQueue(0);
        Assert.Equal(0, _msi.Vectors[1].Triggers);
        EnableMsix(functionMask: false);
        Assert.Equal(1, _msi.Vectors[1].Triggers);
    }

    /// <summary>
    /// A guest cannot make csvmm send an interrupt it does not own: a message aimed outside the
    /// local APIC range, or with SMI/NMI/INIT delivery, is never routed.
    /// </summary>
    [Theory]
    [InlineData(0xDEAD0000UL, 0x31u)]
    [InlineData(0xFEC00000UL, 0x31u)]
    [InlineData(0xFEE00000UL, 0x231u)] // delivery mode 2: SMI
    [InlineData(0xFEE00000UL, 0x531u)] // delivery mode 5: INIT
    public void Messages_that_do_not_target_a_local_apic_with_a_normal_interrupt_are_refused(ulong address, uint data)
    {
        BringUp();
        ProgramVector(1, address, data, masked: false);
        EnableMsix();
        _t.SignalQueue(0);
        Assert.Equal(0, _msi.Vectors[1].Triggers);
        Assert.Null(_msi.Vectors[1].Route);
        Assert.Equal(1, _t.Msix.Counters.RefusedMessages.Value);
    }

    [Fact]
    public void Isr_read_returns_and_clears_the_status()
    {
        BringUp();
        _device.Interrupt!.NotifyConfigChanged();
        Assert.Equal(VirtioTransportCore.InterruptConfigChange, Read(VirtioPciTransport.IsrOffset, 1));
        Assert.Equal(0u, Read(VirtioPciTransport.IsrOffset, 1));
    }

    [Fact]
    public void Queue_enable_zero_and_misaligned_common_accesses_are_refused()
    {
        BringUp();
        long before = _t.Core.Counters.InvalidRegisterAccesses.Value;
        Write(Common + 0x1C, 2, 0);
        Write(Common + 0x13, 2, 5);  // straddles num_queues and status
        Write(Common + 0x12, 2, 9);  // num_queues is read-only
        Assert.Equal(before + 3, _t.Core.Counters.InvalidRegisterAccesses.Value);
        Assert.True(_t.Core.IsActivated);
        Assert.Equal(2u, Read(Common + 0x12, 2));
    }

    [Fact]
    public void Reset_through_device_status_clears_vectors_and_msix()
    {
        BringUp();
        ProgramVector(1, 0xFEE00000, 0x31, masked: false);
        EnableMsix();
        Write(Common + 0x14, 1, 0);
        Assert.Equal(0u, Read(Common + 0x14, 1));
        Assert.Equal(VirtioPciTransport.NoVector, Read(Common + 0x10, 2));
        Assert.False(_t.Msix.Enabled);
        Assert.False(_t.Core.IsActivated);
    }

    [Fact]
    public void Notification_doorbells_are_one_per_queue_at_the_multiplier()
    {
        var doorbells = _t.Doorbells(_t.Bar);
        Assert.Equal(2, doorbells.Count);
        Assert.Equal(VirtioPciTransport.NotifyOffset + VirtioPciTransport.NotifyMultiplier, doorbells[1].Offset);
        Assert.Equal(1UL, doorbells[1].Datamatch);
        Assert.Equal(2u, doorbells[1].Length);
    }
}
