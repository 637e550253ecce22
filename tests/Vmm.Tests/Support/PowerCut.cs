using System.Diagnostics;
using System.Text.RegularExpressions;
using Csvmm.Tests.Support;

namespace Csvmm.Vmm.Tests.Support;

/// <summary>
/// A simulated power cut for one disk image: csvmm runs with the LD_PRELOAD shim of
/// PowerCutShim.c, which keeps a durable copy of the image holding only what csvmm made durable
/// (fdatasync/fsync returned 0). After SIGKILL, <see cref="DurableImage"/> is the disk as a power
/// cut leaves it, while the image itself still holds everything in the host's page cache.
/// </summary>
public sealed partial class PowerCut
{
    /// <summary>
    /// Why the shim cannot see csvmm's calls in this run, or null. LD_PRELOAD interposes only calls
    /// bound through the dynamic linker: the NativeAOT csvmm (CSVMM_BIN, as ./build.sh test sets it)
    /// links libc directly (DirectPInvoke), while csvmm.dll under the JIT resolves each libc function
    /// with dlsym on its own libc handle, which never sees an interposer.
    /// </summary>
    public static string? Unsupported => CsvmmProcess.Binary is null
        ? "the power-cut shim needs the NativeAOT csvmm (set CSVMM_BIN, as ./build.sh test does): csvmm.dll under the JIT resolves libc with dlsym, which LD_PRELOAD cannot interpose"
        : null;

    private readonly string _counters;

    /// <summary>Builds the shim (gcc) in <paramref name="scratch"/> and starts the durable copy as a copy of <paramref name="image"/>.</summary>
    public PowerCut(ScratchDir scratch, string image)
    {
        string shim = scratch.File("powercut.so");
        var gcc = Process.Start(new ProcessStartInfo("gcc",
            ["-shared", "-fPIC", "-O2", "-o", shim, Path.Combine(AppContext.BaseDirectory, "PowerCutShim.c"), "-ldl", "-lpthread"])
            { RedirectStandardError = true })!;
        string errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc could not build the power-cut shim: {errors}");
        DurableImage = scratch.File(Path.GetFileName(image) + ".durable");
        File.Copy(image, DurableImage);
        _counters = scratch.File("powercut.counters");
        Environment = new Dictionary<string, string>
        {
            ["LD_PRELOAD"] = shim,
            ["CSVMM_POWERCUT_IMAGE"] = image,
            ["CSVMM_POWERCUT_DURABLE"] = DurableImage,
            ["CSVMM_POWERCUT_COUNTERS"] = _counters,
        };
    }

    /// <summary>What csvmm's process environment needs for the shim.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>The image as it would be after a power cut now.</summary>
    public string DurableImage { get; }

    /// <summary>What the shim saw: writes to the image, successful syncs, bytes made durable.</summary>
    public (long Writes, long Syncs, long FailedSyncs, long DurableBytes) Counters()
    {
        var m = CountersLine().Match(File.Exists(_counters) ? File.ReadAllText(_counters) : "");
        return m.Success
            ? (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value), long.Parse(m.Groups[3].Value), long.Parse(m.Groups[4].Value))
            : (0, 0, 0, 0);
    }

    [GeneratedRegex(@"writes=(\d+) bytes=\d+ syncs=(\d+) failed_syncs=(\d+) durable_bytes=(\d+)")]
    private static partial Regex CountersLine();
}
