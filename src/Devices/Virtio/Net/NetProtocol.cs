namespace Csvmm.Devices.Virtio.Net;

/// <summary>virtio-net constants (virtio 1.2 §5.1).</summary>
public static class NetProtocol
{
    public const uint DeviceType = 1;

    public const int RxQueue = 0;
    public const int TxQueue = 1;

    public const ulong FeatureCsum = 1UL << 0;
    public const ulong FeatureGuestCsum = 1UL << 1;
    public const ulong FeatureMtu = 1UL << 3;
    public const ulong FeatureMac = 1UL << 5;
    public const ulong FeatureGuestTso4 = 1UL << 7;
    public const ulong FeatureGuestTso6 = 1UL << 8;
    public const ulong FeatureHostTso4 = 1UL << 11;
    public const ulong FeatureHostTso6 = 1UL << 12;
    public const ulong FeatureMrgRxbuf = 1UL << 15;
    public const ulong FeatureStatus = 1UL << 16;

    /// <summary>struct virtio_net_hdr_v1: always 12 bytes with VERSION_1 (virtio 1.2 §5.1.6).</summary>
    public const int HeaderSize = 12;

    /// <summary>Offset of num_buffers in the header: the device sets it on RX.</summary>
    public const int HeaderNumBuffers = 10;

    // Configuration space (virtio 1.2 §5.1.4).
    public const int ConfigMac = 0;
    public const int ConfigStatus = 6;
    public const int ConfigMaxVirtqueuePairs = 8;
    public const int ConfigMtu = 10;
    public const int ConfigSize = 12;

    public const ushort StatusLinkUp = 1;

    public const ushort DefaultMtu = 1500;

    /// <summary>
    /// The largest frame (without header) either direction: a 64 KiB GSO packet plus an Ethernet
    /// header and a VLAN tag (the 65550 behind the spec's 65562-byte big-packet buffers).
    /// </summary>
    public const int MaxFrameSize = 65550;
}
