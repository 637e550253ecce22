namespace Csvmm.Devices.Virtio;

/// <summary>
/// What the driver wrote for one queue during set-up (size, the three ring addresses, ready). It
/// only becomes a live <see cref="Virtqueue"/> when DRIVER_OK validates it.
/// </summary>
internal sealed class QueueRegisters(ushort maxSize)
{
    public ushort MaxSize { get; } = maxSize;
    public ushort Size { get; set; } = maxSize;
    public ulong DescTable { get; set; }
    public ulong DriverArea { get; set; }
    public ulong DeviceArea { get; set; }
    public bool Ready { get; set; }

    public void Reset()
    {
        Size = MaxSize;
        DescTable = DriverArea = DeviceArea = 0;
        Ready = false;
    }
}
