using System.Buffers.Binary;
using System.Numerics;
using Csvmm.Devices.State;
using Csvmm.Vmm.Config;

namespace Csvmm.Vmm.Snapshot;

/// <summary>
/// The snapshot state file, format 1, little-endian:
/// <code>
///   "CSVMMSNP"   8-byte magic
///   u32          format version (1)
///   bytes        csvmm version (UTF-8; u32 length first, as every "bytes" here)
///   bytes        body: memory MiB, vCPUs, transport, memory bytes, command line, disks
///                (path, size, read-only, serial, API name), nets (TAP, MAC, API name), then vCPU states, VM state,
///                serial, i8042 and each virtio device's state, each as "bytes"
///   u32          CRC-32C of everything before it
/// </code>
/// A file that is shorter, longer, altered (the CRC), of another format version or written by
/// another csvmm version is refused as a whole before anything is built. The KVM parts carry
/// their own versioned, checksummed images (Csvmm.Kvm.State).
/// </summary>
public static class SnapshotFile
{
    public const uint FormatVersion = 1;
    private static readonly byte[] Magic = "CSVMMSNP"u8.ToArray();

    public static void Write(string path, SnapshotContents s)
    {
        var w = new StateWriter();
        foreach (byte b in Magic) w.U8(b);
        w.U32(FormatVersion);
        w.String(s.CsvmmVersion);
        w.Section(body =>
        {
            body.U32((uint)s.MemoryMiB);
            body.U32((uint)s.Cpus);
            body.U8((byte)s.Transport);
            body.U64(s.MemoryBytes);
            body.String(s.KernelCommandLine);
            body.U32((uint)s.Disks.Count);
            foreach (var d in s.Disks)
            {
                body.String(d.Path);
                body.U64((ulong)d.SizeBytes);
                body.Bool(d.ReadOnly);
                body.String(d.Id ?? "");
                body.String(d.Name ?? "");
            }
            body.U32((uint)s.Nets.Count);
            foreach (var n in s.Nets)
            {
                body.String(n.Tap);
                body.String(n.Mac);
                body.String(n.Name ?? "");
            }
            body.U32((uint)s.VcpuStates.Count);
            foreach (var v in s.VcpuStates) body.Bytes(v);
            body.Bytes(s.VmState);
            body.Bytes(s.Serial);
            body.Bytes(s.I8042);
            body.U32((uint)s.VirtioDevices.Count);
            foreach (var d in s.VirtioDevices) body.Bytes(d);
        });
        byte[] content = w.ToArray();
        var file = new byte[content.Length + 4];
        content.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(content.Length), Crc32C(content));
        // Written next to the target and renamed into place: a crash never leaves half a snapshot.
        string temp = path + ".partial";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(file);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    public static SnapshotContents Read(string path, string expectedVersion)
    {
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotException(SnapshotProblem.Missing, $"snapshot {path} cannot be read: {e.Message}");
        }
        if (file.Length < Magic.Length + 8 || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw Invalid(path, "is not a csvmm snapshot (no CSVMMSNP magic)");
        var content = file.AsSpan(0, file.Length - 4);
        if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4)) != Crc32C(content))
            throw Invalid(path, "is damaged or altered (checksum mismatch)");
        try
        {
            var r = new StateReader(content[Magic.Length..]);
            uint format = r.U32();
            if (format != FormatVersion) throw Invalid(path, $"has format {format}; this csvmm reads format {FormatVersion}");
            string version = r.String();
            if (version != expectedVersion)
                throw Invalid(path, $"was written by csvmm {version}; this is csvmm {expectedVersion}, which restores only its own snapshots");
            var body = r.Section();
            r.End(path);
            int memoryMiB = (int)body.U32();
            int cpus = (int)body.U32();
            byte transport = body.U8();
            if (transport > (byte)VirtioTransportKind.Mmio) throw new StateFormatException($"unknown transport {transport}");
            ulong memoryBytes = body.U64();
            string cmdline = body.String();
            var disks = new List<SnapshotDisk>();
            for (uint i = body.U32(); i > 0; i--)
            {
                string p = body.String();
                long size = (long)body.U64();
                bool ro = body.Bool();
                string id = body.String();
                string name = body.String();
                disks.Add(new SnapshotDisk(p, size, ro, NullIfEmpty(id), NullIfEmpty(name)));
            }
            var nets = new List<SnapshotNet>();
            for (uint i = body.U32(); i > 0; i--) nets.Add(new SnapshotNet(body.String(), body.String(), NullIfEmpty(body.String())));
            var vcpus = new List<byte[]>();
            for (uint i = body.U32(); i > 0; i--) vcpus.Add(body.Bytes().ToArray());
            byte[] vm = body.Bytes().ToArray();
            byte[] serial = body.Bytes().ToArray();
            byte[] i8042 = body.Bytes().ToArray();
            var devices = new List<byte[]>();
            for (uint i = body.U32(); i > 0; i--) devices.Add(body.Bytes().ToArray());
            body.End(path);
            if (vcpus.Count != cpus || devices.Count != disks.Count + nets.Count)
                throw Invalid(path, "does not hold a state for every vCPU and device it lists");
            return new SnapshotContents
            {
                CsvmmVersion = version, MemoryMiB = memoryMiB, Cpus = cpus, Transport = (VirtioTransportKind)transport,
                Disks = disks, Nets = nets, MemoryBytes = memoryBytes, KernelCommandLine = cmdline,
                VcpuStates = vcpus, VmState = vm, Serial = serial, I8042 = i8042, VirtioDevices = devices,
            };
        }
        catch (StateFormatException e)
        {
            throw Invalid(path, $"is malformed: {e.Message}");
        }
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static SnapshotException Invalid(string path, string what) => new(SnapshotProblem.Invalid, $"snapshot {path} {what}");

    /// <summary>CRC-32C (Castagnoli), the checksum the KVM state images use as well.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8) crc = (uint)BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }
}
