using System.Text.Json;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>
/// <c>--stats FILE</c>: what the run did, as JSON written at exit (Utf8JsonWriter: NativeAOT-safe).
/// </summary>
public static class RunStatistics
{
    public static void Write(string path, VirtualMachine vm, StopReason stop, TimeSpan elapsed)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("stopReason", stop.Kind.ToString());
        w.WriteString("stopDetail", stop.Detail);
        w.WriteNumber("exitCode", stop.Kind == StopKind.GuestExitStatus ? stop.GuestStatus : (int)ExitCodes.For(stop));
        w.WriteNumber("elapsedMs", Math.Round(elapsed.TotalMilliseconds, 1));
        w.WriteStartObject("bootTime");
        WriteMs(w, "firstKvmRunMs", vm.FirstRunAt);
        WriteMs(w, "guestBootMarkerMs", vm.BootMarkAt);
        w.WriteEndObject();

        var (peakRss, guestResident) = MemoryUse(vm);
        w.WriteStartObject("hostMemory");
        w.WriteNumber("peakRssKiB", peakRss);
        w.WriteNumber("guestRamResidentKiB", guestResident);
        w.WriteNumber("peakRssWithoutGuestRamKiB", peakRss - guestResident);
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

        w.WriteStartArray("netDevices");
        foreach (var net in vm.NetDevices)
        {
            var c = net.Device.Counters;
            w.WriteStartObject();
            w.WriteString("name", net.GuestName);
            w.WriteString("tap", net.Tap);
            w.WriteString("mac", net.Mac.ToString());
            w.WriteNumber("rxFrames", Interlocked.Read(ref c.RxFrames));
            w.WriteNumber("rxBytes", Interlocked.Read(ref c.RxBytes));
            w.WriteNumber("txFrames", Interlocked.Read(ref c.TxFrames));
            w.WriteNumber("txBytes", Interlocked.Read(ref c.TxBytes));
            w.WriteNumber("rxDropsNoBuffer", Interlocked.Read(ref c.RxDropsNoBuffer));
            w.WriteNumber("rxDropsTooBig", Interlocked.Read(ref c.RxDropsTooBig));
            w.WriteNumber("txDropsTooBig", Interlocked.Read(ref c.TxDropsTooBig));
            w.WriteNumber("rxBackendErrors", Interlocked.Read(ref c.RxBackendErrors));
            w.WriteNumber("txBackendErrors", Interlocked.Read(ref c.TxBackendErrors));
            WriteQueues(w, net.Transport);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("blockDevices");
        foreach (var blk in vm.BlockDevices)
        {
            var c = blk.Device.Counters;
            w.WriteStartObject();
            w.WriteString("name", blk.GuestName);
            w.WriteString("path", blk.Path);
            w.WriteNumber("readRequests", Interlocked.Read(ref c.ReadRequests));
            w.WriteNumber("writeRequests", Interlocked.Read(ref c.WriteRequests));
            w.WriteNumber("flushRequests", Interlocked.Read(ref c.FlushRequests));
            w.WriteNumber("getIdRequests", Interlocked.Read(ref c.GetIdRequests));
            w.WriteNumber("discardRequests", Interlocked.Read(ref c.DiscardRequests));
            w.WriteNumber("writeZeroesRequests", Interlocked.Read(ref c.WriteZeroesRequests));
            w.WriteNumber("unsupportedRequests", Interlocked.Read(ref c.UnsupportedRequests));
            w.WriteNumber("bytesRead", Interlocked.Read(ref c.BytesRead));
            w.WriteNumber("bytesWritten", Interlocked.Read(ref c.BytesWritten));
            w.WriteNumber("ioErrors", Interlocked.Read(ref c.IoErrors));
            w.WriteNumber("hostErrors", Interlocked.Read(ref c.HostErrors));
            w.WriteNumber("missingStatus", Interlocked.Read(ref c.MissingStatus));
            w.WriteNumber("invalidRegisterAccesses", blk.Transport.InvalidAccesses);
            WriteQueues(w, blk.Transport);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
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

    private static void WriteQueues(Utf8JsonWriter w, Csvmm.Devices.Virtio.VirtioMmioTransport transport)
    {
        w.WriteNumber("runtimeMmioExits", transport.RuntimeAccesses);
        w.WriteStartArray("queues");
        foreach (var q in transport.Queues)
        {
            var qc = q.Counters;
            w.WriteStartObject();
            w.WriteNumber("notifications", Interlocked.Read(ref qc.Notifications));
            w.WriteNumber("interrupts", Interlocked.Read(ref qc.Interrupts));
            w.WriteNumber("requests", Interlocked.Read(ref qc.Chains));
            w.WriteNumber("badChains", Interlocked.Read(ref qc.BadChains));
            w.WriteNumber("ringErrors", Interlocked.Read(ref qc.RingErrors));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteMs(Utf8JsonWriter w, string name, TimeSpan? t)
    {
        if (t is { } v) w.WriteNumber(name, Math.Round(v.TotalMilliseconds, 1));
        else w.WriteNull(name);
    }
}
