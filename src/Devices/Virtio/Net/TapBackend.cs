using Csvmm.Host.Native;

namespace Csvmm.Devices.Virtio.Net;

/// <summary>A <see cref="TapDevice"/> as a virtio-net backend. Owns (disposes) the TAP.</summary>
public sealed class TapBackend : INetBackend, IDisposable
{
    public TapBackend(TapDevice tap) => Tap = tap;

    /// <summary>Opens (attaching or creating) the TAP <paramref name="name"/>; throws <see cref="TapException"/>.</summary>
    public static TapBackend Open(string name) => new(TapDevice.Open(name));

    public TapDevice Tap { get; }

    public string Name => Tap.Name;

    public int Fd => Tap.Fd;

    public long Read(ReadOnlySpan<IoVec> iov) => Tap.Read(iov);

    public long Write(ReadOnlySpan<IoVec> iov) => Tap.Write(iov);

    public int SetOffload(uint tunFlags) => Tap.SetOffload(tunFlags);

    public void Dispose() => Tap.Dispose();
}
