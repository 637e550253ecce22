namespace Csvmm.Devices.Bus;

/// <summary>
/// A device on the PIO or MMIO bus. Offsets are relative to the device's base; a read must fill
/// every byte of <c>data</c> (stale bytes would leak an earlier exit's data to the guest).
/// Called from vCPU threads, possibly several at once: devices synchronise themselves.
/// </summary>
public interface IBusDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}
