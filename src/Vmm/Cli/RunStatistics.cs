using System.Text.Json;
using Csvmm.Devices.Metrics;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>
/// <c>--stats FILE</c>: what the run did, as JSON written at exit (Utf8JsonWriter: NativeAOT-safe).
/// Device, transport and queue counters are written from their <see cref="CounterSet"/>s, so every
/// counter appears under the one name it was declared with.
/// </summary>
public static class RunStatistics
{
    public static void Write(string path, VirtualMachine vm, RunOutcome outcome, int exitCode, TimeSpan elapsed)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("stopReason", outcome.Stop.Kind.ToString());
        w.WriteString("stopDetail", outcome.Stop.Detail);
        w.WriteNumber("exitCode", exitCode);
        w.WriteNumber("elapsedMs", Math.Round(elapsed.TotalMilliseconds, 1));
        w.WriteStartArray("syncFailures");
        foreach (var f in outcome.SyncFailures) w.WriteStringValue($"{f.Target}: errno {f.Errno}");
        w.WriteEndArray();
        w.WriteStartObject("bootTime");
        WriteMs(w, "firstKvmRunMs", vm.FirstRunAt);
        WriteMs(w, "guestBootMarkerMs", vm.BootMarkAt);
        w.WriteEndObject();

        var (peakRss, guestResident) = MemoryUse(vm);
        w.WriteStartObject("hostMemory");
        w.WriteNumber("peakRssKiB", peakRss);
        w.WriteNumber("guestRamResidentKiB", guestResident);
        w.WriteNumber("peakRssWithoutGuestRamKiB", peakRss - guestResident);
        if (vm.RssAtFirstRunKiB is long atFirstRun) w.WriteNumber("rssAtFirstKvmRunKiB", atFirstRun);
        w.WriteEndObject();

        w.WriteStartObject("vcpuExits");
        foreach (var (reason, count) in vm.Exits.Snapshot()) w.WriteNumber(reason, count);
        w.WriteNumber("total", vm.Exits.Total);
        w.WriteEndObject();

        w.WriteStartObject("serial");
        w.WriteNumber("bytesOut", vm.Serial.BytesTransmitted);
        w.WriteNumber("bytesIn", vm.Serial.BytesReceived);
        w.WriteNumber("interrupts", vm.Serial.InterruptsRaised);
        w.WriteEndObject();

        w.WriteStartObject("unclaimed");
        w.WriteNumber("pioReads", vm.PioBus.UnclaimedReads);
        w.WriteNumber("pioWrites", vm.PioBus.UnclaimedWrites);
        w.WriteNumber("mmioReads", vm.MmioBus.UnclaimedReads);
        w.WriteNumber("mmioWrites", vm.MmioBus.UnclaimedWrites);
        w.WriteEndObject();

        WriteDevices(w, "netDevices", vm.VirtioDevices.Where(d => d.Kind == "virtio-net"));
        WriteDevices(w, "blockDevices", vm.VirtioDevices.Where(d => d.Kind == "virtio-blk"));
        w.WriteEndObject();
    }

    private static void WriteDevices(Utf8JsonWriter w, string name, IEnumerable<AttachedVirtioDevice> devices)
    {
        w.WriteStartArray(name);
        foreach (var d in devices)
        {
            w.WriteStartObject();
            w.WriteString("name", d.GuestName);
            foreach (var (key, value) in d.Labels) w.WriteString(key, value);
            WriteCounters(w, d.DeviceCounters);
            WriteCounters(w, d.Transport.Counters);
            foreach (var extra in d.TransportCounters) WriteCounters(w, extra);
            w.WriteStartArray("queues");
            foreach (var q in d.Transport.QueueCounters)
            {
                w.WriteStartObject();
                WriteCounters(w, q);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteCounters(Utf8JsonWriter w, CounterSet set)
    {
        foreach (var c in set.All) w.WriteNumber(c.Name, c.Value);
    }

    /// <summary>
    /// Peak RSS (VmHWM) and how much of it is guest RAM (the Rss of the guest-memory mappings in
    /// /proc/self/smaps), so the VMM's own footprint can be reported apart from the guest's pages.
    /// </summary>
    private static (long PeakRssKiB, long GuestResidentKiB) MemoryUse(VirtualMachine vm)
    {
        long peak = 0, guest = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    peak = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            var starts = vm.Memory.Regions.Select(r => (ulong)r.HostAddress).ToHashSet();
            bool inGuest = false;
            foreach (var line in File.ReadLines("/proc/self/smaps"))
            {
                int dash = line.IndexOf('-');
                if (dash > 0 && line.Length > dash + 1 && Uri.IsHexDigit(line[0]) && line.Contains(' '))
                {
                    inGuest = ulong.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out ulong start)
                        && starts.Contains(start);
                    continue;
                }
                if (inGuest && line.StartsWith("Rss:", StringComparison.Ordinal))
                    guest += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            }
        }
        catch (IOException) { }
        return (peak, guest);
    }

    private static void WriteMs(Utf8JsonWriter w, string name, TimeSpan? t)
    {
        if (t is { } v) w.WriteNumber(name, Math.Round(v.TotalMilliseconds, 1));
        else w.WriteNull(name);
    }
}
