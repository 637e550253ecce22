using Csvmm.Devices.Virtio.Net;

namespace Csvmm.Vmm.Api;

/// <summary>A network interface of <see cref="MicroVmSpec"/>: the host TAP and the guest MAC (null: csvmm's default).</summary>
public sealed record MicroVmNet(string IfaceId, string Tap, MacAddress? Mac);
