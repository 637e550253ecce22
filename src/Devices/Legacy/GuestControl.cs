using System.Buffers.Binary;
using Csvmm.Devices.Bus;

namespace Csvmm.Devices.Legacy;

/// <summary>
/// csvmm's guest-control page (MMIO, 4 KiB): how a guest reports its verdict and its boot time.
/// <list type="bullet">
/// <item>0x00 write (1, 2 or 4 bytes): EXIT — the guest's exit status; csvmm stops and exits with it (0-255).</item>
/// <item>0x04 write (1 byte or more): MARK — value 123 marks "boot finished" (Firecracker's boot-timer value); csvmm logs the time since it started.</item>
/// <item>0x08 read (4 bytes): MAGIC 0x4d565343 ("CSVM"), so a guest can tell it runs under csvmm.</item>
/// <item>0x0C write (any value): SNAPSHOT — the guest's set-up is done: with <c>--snapshot-to</c>
/// csvmm saves a snapshot here and stops; a restored guest continues right after this write.</item>
/// </list>
/// A guest with /dev/mem writes it with e.g. <c>busybox devmem 0xc0000000 32 3</c>.
/// </summary>
public sealed class GuestControl : IBusDevice
{
    public const ulong ExitOffset = 0x00;
    public const ulong MarkOffset = 0x04;
    public const ulong MagicOffset = 0x08;
    public const ulong SnapshotOffset = 0x0C;
    public const uint Magic = 0x4d565343;
    public const byte BootCompleteMark = 123;

    private readonly Action<int> _onExit;
    private readonly Action<byte> _onMark;
    private readonly Action? _onSnapshot;

    public GuestControl(Action<int> onExit, Action<byte> onMark, Action? onSnapshot = null)
    {
        _onExit = onExit;
        _onMark = onMark;
        _onSnapshot = onSnapshot;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset == MagicOffset && data.Length == 4)
            BinaryPrimitives.WriteUInt32LittleEndian(data, Magic);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        switch (offset)
        {
            case ExitOffset:
                _onExit(data[0]);
                break;
            case MarkOffset:
                _onMark(data[0]);
                break;
            case SnapshotOffset:
                _onSnapshot?.Invoke();
                break;
        }
    }
}
