using System.Buffers.Binary;
using Csvmm.Devices.Virtio;
using Csvmm.Devices.Virtio.Block;
using Csvmm.Host.Native;
using Xunit;
using static Csvmm.Devices.Tests.Virtio.Block.BlockHarness;
using static Csvmm.Devices.Tests.Virtio.RingLayout;
using static Csvmm.Devices.Virtio.Block.BlockProtocol;

namespace Csvmm.Devices.Tests.Virtio.Block;

public class BlockDeviceTests
{
    [Fact]
    public void Read_copies_sectors_into_guest_memory_and_reports_data_plus_status()
    {
        using var h = new BlockHarness();
        var (status, len) = h.Submit(TypeIn, sector: 3, dataLength: 1024);
        Assert.Equal(StatusOk, status);
        Assert.Equal(1025u, len);
        Assert.Equal(h.FileBytes().AsSpan(3 * 512, 1024).ToArray(), h.Ring.Buffer.AsSpan((int)Data, 1024).ToArray());
        Assert.Equal(1, h.Device.Counters.ReadRequests.Value);
        Assert.Equal(1024, h.Device.Counters.BytesRead.Value);
        Assert.Equal(1, h.Irq.Count);
    }

    [Fact]
    public void Write_reaches_the_image_file()
    {
        using var h = new BlockHarness();
        var data = Enumerable.Range(0, 512).Select(i => (byte)(255 - i)).ToArray();
        var (status, len) = h.Submit(TypeOut, sector: 10, dataLength: 512, data: data);
        Assert.Equal(StatusOk, status);
        Assert.Equal(1u, len);
        Assert.Equal(data, h.FileBytes().AsSpan(10 * 512, 512).ToArray());
        Assert.Equal(512, h.Device.Counters.BytesWritten.Value);
    }

    [Fact]
    public void Write_without_negotiated_flush_is_synced_and_completes()
    {
        using var h = new BlockHarness(features: VirtioFeatures.Version1);
        var (status, _) = h.Submit(TypeOut, 0, 512, new byte[512]);
        Assert.Equal(StatusOk, status);
        Assert.Equal(new byte[512], h.FileBytes().AsSpan(0, 512).ToArray());
    }

    [Fact]
    public void Multi_segment_request_through_an_indirect_table_reads_and_writes_every_segment()
    {
        using var h = new BlockHarness();
        var payload = Enumerable.Range(0, 3 * 512).Select(i => (byte)(i % 251)).ToArray();
        payload.CopyTo(h.Ring.Buffer.AsSpan((int)Data));
        h.WriteHeader(TypeOut, 20);
        // header, three 512-byte segments at scattered addresses, status
        h.Ring.SetDescriptorAt(IndirectArea, 0, HeaderArea, 16, Next, 1);
        h.Ring.Buffer.AsSpan((int)Data, 512).CopyTo(h.Ring.Buffer.AsSpan(0x20000));
        h.Ring.Buffer.AsSpan((int)Data + 512, 512).CopyTo(h.Ring.Buffer.AsSpan(0x30000));
        h.Ring.Buffer.AsSpan((int)Data + 1024, 512).CopyTo(h.Ring.Buffer.AsSpan(0x25000));
        h.Ring.SetDescriptorAt(IndirectArea, 1, 0x20000, 512, Next, 2);
        h.Ring.SetDescriptorAt(IndirectArea, 2, 0x30000, 512, Next, 3);
        h.Ring.SetDescriptorAt(IndirectArea, 3, 0x25000, 512, Next, 4);
        h.Ring.SetDescriptorAt(IndirectArea, 4, StatusArea, 1, Write);
        ushort head = h.Reserve(1);
        h.Ring.SetDescriptor(head, IndirectArea, 5 * 16, Indirect);
        Assert.Equal((StatusOk, 1u), h.Run(head));
        Assert.Equal(payload, h.FileBytes().AsSpan(20 * 512, 3 * 512).ToArray());

        // Read it back into two segments of 1024 and 512 bytes.
        h.WriteHeader(TypeIn, 20);
        h.Ring.SetDescriptorAt(IndirectArea, 1, 0x40000, 1024, Next | Write, 2);
        h.Ring.SetDescriptorAt(IndirectArea, 2, 0x48000, 512, Next | Write, 4);
        head = h.Reserve(1);
        h.Ring.SetDescriptor(head, IndirectArea, 5 * 16, Indirect);
        Assert.Equal((StatusOk, 1537u), h.Run(head));
        Assert.Equal(payload.AsSpan(0, 1024).ToArray(), h.Ring.Buffer.AsSpan(0x40000, 1024).ToArray());
        Assert.Equal(payload.AsSpan(1024, 512).ToArray(), h.Ring.Buffer.AsSpan(0x48000, 512).ToArray());
    }

    [Fact]
    public void Header_and_data_may_share_one_descriptor()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeOut, 2, at: 0x9000);
        h.Ring.Buffer.AsSpan(0x9010, 512).Fill(0x5A);
        ushort head = h.Reserve(2);
        h.Ring.SetDescriptor(head, 0x9000, 16 + 512, Next, (ushort)(head + 1));
        h.Ring.SetDescriptor(head + 1, StatusArea, 1, Write);
        Assert.Equal((StatusOk, 1u), h.Run(head));
        Assert.All(h.FileBytes().AsSpan(1024, 512).ToArray(), b => Assert.Equal(0x5A, b));
    }

    [Fact]
    public void Flush_completes_ok()
    {
        using var h = new BlockHarness();
        Assert.Equal((StatusOk, 1u), h.Submit(TypeFlush, 0));
        Assert.Equal(1, h.Device.Counters.FlushRequests.Value);
    }

    [Fact]
    public void Get_id_returns_the_configured_serial_nul_padded()
    {
        using var h = new BlockHarness(serial: "disk-one");
        var (status, len) = h.Submit(TypeGetId, 0, 20);
        Assert.Equal(StatusOk, status);
        Assert.Equal(21u, len);
        var expected = new byte[20];
        "disk-one"u8.CopyTo(expected);
        Assert.Equal(expected, h.Ring.Buffer.AsSpan((int)Data, 20).ToArray());
    }

    [Fact]
    public void Get_id_defaults_to_an_id_derived_from_the_image_file()
    {
        using var h = new BlockHarness();
        Assert.Equal(StatusOk, h.Submit(TypeGetId, 0, 20).Status);
        Assert.NotEqual(0, h.Ring.Buffer[Data]);
        Assert.Equal(h.Device.Serial.ToArray(), h.Ring.Buffer.AsSpan((int)Data, 20).ToArray());
    }

    [Fact]
    public void Get_id_with_a_buffer_shorter_than_20_bytes_is_an_io_error()
    {
        using var h = new BlockHarness();
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeGetId, 0, 19));
    }

    private static byte[] Segment(ulong sector, uint count, uint flags)
    {
        var s = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(s, sector);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), count);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(12), flags);
        return s;
    }

    [Fact]
    public void Discard_deallocates_the_range()
    {
        using var h = new BlockHarness();
        var (status, len) = h.Submit(TypeDiscard, 0, 16, Segment(8, 16, 0));
        Assert.Equal((StatusOk, 1u), (status, len));
        // The temp directory's file system (ext4/xfs/tmpfs) supports PUNCH_HOLE: the range reads as zeros.
        var bytes = h.FileBytes();
        Assert.True(bytes.AsSpan(8 * 512, 16 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.NotEqual(0, bytes[24 * 512 + 1]);
        Assert.Equal(1, h.Device.Counters.DiscardRequests.Value);
    }

    [Fact]
    public void Discard_with_the_unmap_flag_is_unsupported()
    {
        using var h = new BlockHarness();
        Assert.Equal(StatusUnsupp, h.Submit(TypeDiscard, 0, 16, Segment(8, 16, SegmentFlagUnmap)).Status);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(SegmentFlagUnmap)]
    public void Write_zeroes_makes_the_range_read_as_zeros(uint flags)
    {
        using var h = new BlockHarness();
        var before = h.FileBytes();
        var data = new byte[32];
        Segment(4, 2, flags).CopyTo(data, 0);
        Segment(100, 3, flags).CopyTo(data, 16);
        Assert.Equal((StatusOk, 1u), h.Submit(TypeWriteZeroes, 0, 32, data));
        var after = h.FileBytes();
        Assert.Equal(before.Length, after.Length);
        Assert.True(after.AsSpan(4 * 512, 2 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(after.AsSpan(100 * 512, 3 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(before.AsSpan(6 * 512, 94 * 512).ToArray(), after.AsSpan(6 * 512, 94 * 512).ToArray());
    }

    [Fact]
    public void Write_zeroes_falls_back_to_writing_zeros_when_fallocate_is_unsupported()
    {
        using var h = new BlockHarness(sizeBytes: 1 << 21);
        h.Backend.ForceZeroFillForTesting = true;
        var before = h.FileBytes();
        // 300 sectors: more than one 64 KiB zero buffer.
        Assert.Equal((StatusOk, 1u), h.Submit(TypeWriteZeroes, 0, 16, Segment(7, 300, SegmentFlagUnmap)));
        var after = h.FileBytes();
        Assert.True(after.AsSpan(7 * 512, 300 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(before.AsSpan(307 * 512).ToArray(), after.AsSpan(307 * 512).ToArray());
        Assert.Equal(before.AsSpan(0, 7 * 512).ToArray(), after.AsSpan(0, 7 * 512).ToArray());
    }

    [Fact]
    public void Write_zeroes_beyond_the_disk_is_an_io_error_and_changes_nothing()
    {
        using var h = new BlockHarness();
        var before = h.FileBytes();
        var data = new byte[32];
        Segment(0, 1, 0).CopyTo(data, 0);
        Segment(2047, 2, 0).CopyTo(data, 16); // 2048 sectors in 1 MiB
        Assert.Equal(StatusIoErr, h.Submit(TypeWriteZeroes, 0, 32, data).Status);
        Assert.Equal(before, h.FileBytes());
    }

    [Fact]
    public void Read_only_device_refuses_writes_and_leaves_the_file_unchanged()
    {
        using var h = new BlockHarness(readOnly: true);
        Assert.NotEqual(0UL, h.Device.OfferedFeatures & FeatureRo);
        Assert.Equal(0UL, h.Device.OfferedFeatures & (FeatureDiscard | FeatureWriteZeroes));
        var before = h.FileBytes();
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeOut, 0, 512, new byte[512]));
        Assert.Equal(StatusIoErr, h.Submit(TypeDiscard, 0, 16, Segment(0, 8, 0)).Status);
        Assert.Equal(StatusIoErr, h.Submit(TypeWriteZeroes, 0, 16, Segment(0, 8, 0)).Status);
        Assert.Equal(before, h.FileBytes());
        Assert.Equal(StatusOk, h.Submit(TypeIn, 0, 512).Status);
        Assert.Equal(3, h.Device.Counters.IoErrors.Value);
    }

    [Theory]
    [InlineData(2048UL, 512)]           // first sector past the end
    [InlineData(2047UL, 1024)]          // straddles the end
    [InlineData(ulong.MaxValue, 512)]   // sector + count overflows
    [InlineData(ulong.MaxValue / 512 + 1, 512)] // sector * 512 overflows
    public void Sector_range_beyond_capacity_is_an_io_error(ulong sector, int length)
    {
        using var h = new BlockHarness();
        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeIn, sector, length));
        Assert.Equal(StatusIoErr, h.Submit(TypeOut, sector, length).Status);
    }

    [Fact]
    public void Last_sector_is_accessible()
    {
        using var h = new BlockHarness();
        Assert.Equal(StatusOk, h.Submit(TypeIn, 2047, 512).Status);
    }

    [Fact]
    public void Data_length_not_a_multiple_of_512_is_an_io_error()
    {
        using var h = new BlockHarness();
        Assert.Equal(StatusIoErr, h.Submit(TypeIn, 0, 511).Status);
        Assert.Equal(StatusIoErr, h.Submit(TypeOut, 0, 1000).Status);
    }

    [Fact]
    public void Unknown_request_type_is_unsupported()
    {
        using var h = new BlockHarness();
        Assert.Equal((StatusUnsupp, 1u), h.Submit(99, 0));
        Assert.Equal(1, h.Device.Counters.UnsupportedRequests.Value);
    }

    [Fact]
    public void Header_shorter_than_16_bytes_is_an_io_error()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeIn, 0);
        ushort head = h.Reserve(2);
        h.Ring.SetDescriptor(head, HeaderArea, 8, Next, (ushort)(head + 1));
        h.Ring.SetDescriptor(head + 1, StatusArea, 1, Write);
        Assert.Equal((StatusIoErr, 1u), h.Run(head));
    }

    [Fact]
    public void Host_io_error_fails_the_request_and_the_device_keeps_serving()
    {
        using var h = new BlockHarness();
        var before = h.FileBytes();
        Assert.Equal(0, FileIo.TryOpen(h.ImagePath, readOnly: true, out var roFd));
        h.Backend.ReplaceDescriptorForTesting(roFd!);

        Assert.Equal((StatusIoErr, 1u), h.Submit(TypeOut, 0, 512, new byte[512]));
        Assert.Equal(1, h.Device.Counters.HostErrors.Value);
        Assert.Equal(0u, h.Transport.Status & VirtioStatus.DeviceNeedsReset);
        Assert.Equal(before, h.FileBytes());

        var (status, len) = h.Submit(TypeIn, 1, 512);
        Assert.Equal((StatusOk, 513u), (status, len));
        Assert.Equal(before.AsSpan(512, 512).ToArray(), h.Ring.Buffer.AsSpan((int)Data, 512).ToArray());
    }

    [Fact]
    public void Config_space_reports_capacity_seg_max_and_block_size()
    {
        using var h = new BlockHarness(sizeBytes: 1 << 20);
        Span<byte> b = stackalloc byte[4];
        h.Transport.Read(0x100, b);
        Assert.Equal(2048u, BinaryPrimitives.ReadUInt32LittleEndian(b));
        h.Transport.Read(0x104, b);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(b));
        h.Transport.Read(0x100 + 12, b);
        Assert.Equal(BlockDevice.SegMax, BinaryPrimitives.ReadUInt32LittleEndian(b));
        h.Transport.Read(0x100 + 20, b);
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32LittleEndian(b));
    }

    [Fact]
    public void Event_idx_avail_event_is_updated_after_the_queue_drains()
    {
        using var h = new BlockHarness();
        h.Submit(TypeFlush, 0);
        h.Submit(TypeFlush, 0);
        Assert.Equal(2, h.Ring.AvailEvent);
        Assert.Equal(2, h.Queue.Counters.Requests.Value);
    }

    [Fact]
    public void Several_pending_requests_complete_in_one_pass_with_one_interrupt()
    {
        using var h = new BlockHarness();
        h.WriteHeader(TypeFlush, 0);
        for (ushort i = 0; i < 4; i++)
        {
            h.Ring.SetDescriptor(2 * i, HeaderArea, 16, Next, (ushort)(2 * i + 1));
            h.Ring.SetDescriptor(2 * i + 1, StatusArea + i, 1, Write);
            h.Ring.Publish((ushort)(2 * i));
        }
        h.Transport.ProcessQueue(0);
        Assert.Equal(4, h.Ring.UsedIdx);
        Assert.Equal(1, h.Irq.Count);
    }
}
