using Csvmm.Host.Memory;
using Csvmm.Devices.Virtio;
using Csvmm.Kvm;

namespace Csvmm.Devices.Tests.Virtio;

/// <summary>A device that records what the transport asks of it; its queue handler is pluggable.</summary>
public sealed class FakeVirtioDevice : IVirtioDevice
{
    private readonly ushort[] _sizes;

    public FakeVirtioDevice(ulong offered = VirtioFeatures.Version1 | VirtioFeatures.EventIdx, params ushort[] sizes)
    {
        OfferedFeatures = offered;
        _sizes = sizes.Length == 0 ? [16, 8] : sizes;
    }

    public uint DeviceType => 42;
    public ulong OfferedFeatures { get; }
    public ReadOnlySpan<ushort> QueueMaxSizes => _sizes;
    public byte[] Config { get; } = [1, 2, 3, 4, 5, 6, 7, 8];

    public int Activations { get; private set; }
    public int Resets { get; private set; }
    public List<int> Processed { get; } = [];
    public ulong ActivatedFeatures { get; private set; }
    public IReadOnlyList<Virtqueue>? Queues { get; private set; }
    public IVirtioInterrupt? Interrupt { get; private set; }

    /// <summary>Fds the device thread should watch for this device; <see cref="OnEvent"/> answers with <see cref="EventQueue"/>.</summary>
    public IReadOnlyList<DeviceEventSource> EventSources { get; set; } = [];

    public int EventQueue { get; set; } = -1;

    public List<(int Source, uint Events)> Events { get; } = [];

    public int OnEvent(int source, uint events)
    {
        lock (Events) Events.Add((source, events));
        return EventQueue;
    }

    /// <summary>Runs inside ProcessQueue.</summary>
    public Action<int>? OnProcess { get; set; }

    public void ReadConfig(ulong offset, Span<byte> data)
    {
        data.Clear();
        for (int i = 0; i < data.Length; i++)
            if (offset + (ulong)i < (ulong)Config.Length) data[i] = Config[offset + (ulong)i];
    }

    public void WriteConfig(ulong offset, ReadOnlySpan<byte> data) { }

    public void Activate(GuestMemory memory, IReadOnlyList<Virtqueue> queues, ulong negotiatedFeatures, IVirtioInterrupt interrupt)
    {
        Activations++;
        ActivatedFeatures = negotiatedFeatures;
        Queues = queues;
        Interrupt = interrupt;
    }

    public void Reset()
    {
        Resets++;
        Queues = null;
    }

    /// <summary>What ProcessQueue answers: true = "budget spent, call me again".</summary>
    public Func<int, bool>? MoreWork { get; set; }

    public bool ProcessQueue(int queueIndex)
    {
        lock (Processed) Processed.Add(queueIndex);
        OnProcess?.Invoke(queueIndex);
        return MoreWork?.Invoke(queueIndex) ?? false;
    }
}
