namespace Csvmm.Devices.Virtio.Block;

/// <summary>virtio-blk constants (virtio 1.2 §5.2).</summary>
public static class BlockProtocol
{
    public const uint DeviceType = 2;

    public const ulong FeatureSegMax = 1UL << 2;
    public const ulong FeatureRo = 1UL << 5;
    public const ulong FeatureBlkSize = 1UL << 6;
    public const ulong FeatureFlush = 1UL << 9;
    public const ulong FeatureDiscard = 1UL << 13;
    public const ulong FeatureWriteZeroes = 1UL << 14;

    public const uint TypeIn = 0;
    public const uint TypeOut = 1;
    public const uint TypeFlush = 4;
    public const uint TypeGetId = 8;
    public const uint TypeDiscard = 11;
    public const uint TypeWriteZeroes = 13;

    public const byte StatusOk = 0;
    public const byte StatusIoErr = 1;
    public const byte StatusUnsupp = 2;

    public const int HeaderSize = 16;
    public const int IdSize = 20;
    public const int DiscardSegmentSize = 16;
    public const uint SegmentFlagUnmap = 1;

    // Configuration space offsets.
    public const int ConfigCapacity = 0;
    public const int ConfigSegMax = 12;
    public const int ConfigBlkSize = 20;
    public const int ConfigMaxDiscardSectors = 36;
    public const int ConfigMaxDiscardSeg = 40;
    public const int ConfigDiscardSectorAlignment = 44;
    public const int ConfigMaxWriteZeroesSectors = 48;
    public const int ConfigMaxWriteZeroesSeg = 52;
    public const int ConfigWriteZeroesMayUnmap = 56;
    public const int ConfigSize = 60;
}
