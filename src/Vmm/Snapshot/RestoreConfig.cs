using Csvmm.Devices.Virtio.Net;
using Csvmm.Vmm.Config;

namespace Csvmm.Vmm.Snapshot;

/// <summary>
/// The machine a restore builds, for <c>csvmm restore</c> and PUT /snapshot/load alike: memory,
/// vCPUs, transport and devices come from the snapshot; disks and TAPs may be named anew, one for
/// each the snapshot has (each disk is later checked to have the size the snapshot's had). The
/// guest already knows its MAC addresses, so a new TAP keeps them.
/// </summary>
public static class RestoreConfig
{
    /// <param name="disks">The disks to attach, in the snapshot's order; null for the snapshot's own.</param>
    /// <param name="taps">The TAP of each interface, in the snapshot's order; null for the snapshot's own.</param>
    /// <exception cref="SnapshotException">A count differs from the snapshot's (<see cref="SnapshotProblem.Mismatch"/>).</exception>
    public static VmConfig For(SnapshotSource source, SnapshotContents snapshot, IReadOnlyList<DiskConfig>? disks, IReadOnlyList<string>? taps)
    {
        disks ??= snapshot.Disks.Select(d => new DiskConfig(d.Path, d.ReadOnly, d.Id) { Name = d.Name }).ToList();
        if (disks.Count != snapshot.Disks.Count)
            throw new SnapshotException(SnapshotProblem.Mismatch,
                $"the snapshot has {snapshot.Disks.Count} disks and {disks.Count} were given: name one image for each, or none to use its own");
        taps ??= snapshot.Nets.Select(n => n.Tap).ToList();
        if (taps.Count != snapshot.Nets.Count)
            throw new SnapshotException(SnapshotProblem.Mismatch,
                $"the snapshot has {snapshot.Nets.Count} network interfaces and {taps.Count} TAPs were given: name one for each, or none to use its own");
        var nets = snapshot.Nets.Select((n, i) =>
            new NetConfig(taps[i], MacAddress.TryParse(n.Mac, out var mac) ? mac : null) { Name = n.Name }).ToList();
        return new VmConfig
        {
            KernelPath = "",
            RestoreFrom = source with { Contents = snapshot },
            MemoryMiB = snapshot.MemoryMiB,
            Cpus = snapshot.Cpus,
            Transport = snapshot.Transport,
            Disks = disks,
            Nets = nets,
        };
    }
}
