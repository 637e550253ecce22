using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Csvmm.Kvm.State;
using Csvmm.Vmm.Cli;
using Csvmm.Vmm.Snapshot;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// Snapshot and restore with a tiny kernel (milliseconds): the guest asks for a snapshot, csvmm
/// saves it and exits 0; restores in fresh processes continue from the instruction after the
/// request with the registers it had. Bad snapshots are refused with one line before anything
/// runs.
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class SnapshotTinyTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("csvmm-snap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Kernel(byte[] image, string name)
    {
        string path = Path.Combine(_dir, name + ".elf");
        File.WriteAllBytes(path, image);
        return path;
    }

    private string Take(params string[] extra)
    {
        string k = Kernel(TinyKernel.SnapshotThenExit(35), "snap35");
        string snap = Path.Combine(_dir, "snap");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--snapshot-to", snap, "--log-level", "off", .. extra], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("A", r.Stdout.Trim());
        Assert.Contains("snapshot saved to", r.Stderr);
        return snap;
    }

    [KvmFact]
    public void A_restored_guest_runs_on_after_its_snapshot_request_in_each_of_two_processes()
    {
        string snap = Take();
        for (int i = 0; i < 2; i++)
        {
            var r = CsvmmProcess.Run(["restore", "--from", snap, "--log-level", "off"], Limit);
            Assert.Equal(35, r.ExitCode);
            Assert.Equal("B", r.Stdout.Trim());
        }
    }

    [KvmFact]
    public void A_missing_snapshot_is_refused_with_66()
    {
        var r = CsvmmProcess.Run(["restore", "--from", Path.Combine(_dir, "none")], Limit);
        CliAssert.OneLine(r, 66, "cannot be read");
    }

    [KvmFact]
    public void Truncated_altered_and_foreign_snapshots_are_refused_before_anything_runs()
    {
        string snap = Take();
        string state = Path.Combine(snap, "vm.snap");
        byte[] good = File.ReadAllBytes(state);

        File.WriteAllBytes(state, good[..^10]);
        CliAssert.OneLine(CsvmmProcess.Run(["restore", "--from", snap], Limit), 65, "checksum");

        var altered = (byte[])good.Clone();
        altered[altered.Length / 2] ^= 0x40;
        File.WriteAllBytes(state, altered);
        CliAssert.OneLine(CsvmmProcess.Run(["restore", "--from", snap], Limit), 65, "altered");

        File.WriteAllBytes(state, "not a snapshot at all"u8.ToArray());
        CliAssert.OneLine(CsvmmProcess.Run(["restore", "--from", snap], Limit), 65, "not a csvmm snapshot");

        File.WriteAllBytes(state, good);
        string mem = Path.Combine(snap, "vm.mem");
        using (var f = new FileStream(mem, FileMode.Open)) f.SetLength(f.Length - 4096);
        CliAssert.OneLine(CsvmmProcess.Run(["restore", "--from", snap], Limit), 65, "memory file");
    }

    [KvmFact]
    public void A_snapshot_written_by_another_csvmm_version_is_refused_naming_both_versions()
    {
        string snap = Take();
        string state = Path.Combine(snap, "vm.snap");
        var contents = SnapshotFile.Read(state, CliApp.Version);
        SnapshotFile.Write(state, contents with { CsvmmVersion = "0.0.1-other" });
        CliAssert.OneLine(CsvmmProcess.Run(["restore", "--from", snap], Limit), 65, "was written by csvmm 0.0.1-other");
    }

    /// <summary>A vCPU state from a CPU of the other vendor (a snapshot carried to another machine): 78, nothing run.</summary>
    [KvmFact]
    public void A_snapshot_from_another_vendors_cpu_is_refused_before_anything_runs()
    {
        string snap = Take();
        string state = Path.Combine(snap, "vm.snap");
        var contents = SnapshotFile.Read(state, CliApp.Version);
        var vcpu = VcpuState.Deserialize(contents.VcpuStates[0]);
        // CPUID leaf 0 EBX/EDX/ECX spell the vendor: swap GenuineIntel and AuthenticAMD.
        var foreign = vcpu with
        {
            Cpuid = [.. vcpu.Cpuid.Select(e => e.Function != 0 ? e : e.Ebx == 0x756E6547
                ? e with { Ebx = 0x68747541, Edx = 0x69746E65, Ecx = 0x444D4163 }
                : e with { Ebx = 0x756E6547, Edx = 0x49656E69, Ecx = 0x6C65746E })],
        };
        SnapshotFile.Write(state, contents with { VcpuStates = [foreign.Serialize()] });
        var r = CsvmmProcess.Run(["restore", "--from", snap], Limit);
        CliAssert.OneLine(r, 78, "cannot be restored on this host");
        Assert.Equal("", r.Stdout);
    }

    [KvmFact]
    public void A_disk_of_another_size_than_the_snapshots_is_refused()
    {
        string disk = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(disk, new byte[1 << 20]);
        string snap = Take("--disk", disk);
        using (var f = new FileStream(disk, FileMode.Open)) f.SetLength(2 << 20);
        var r = CsvmmProcess.Run(["restore", "--from", snap, "--disk", disk], Limit);
        CliAssert.OneLine(r, 78, "size");
        Assert.Equal("", r.Stdout);
    }
}
