using Csvmm.Vmm.Api;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>
/// Stands where csvmm's VM will: records every lifecycle call in order, can refuse a start, and
/// can hold Start until the test releases it (to race other requests against InstanceStart).
/// </summary>
public sealed class FakeVm : IVmLifecycle
{
    private readonly List<string> _calls = [];

    public MicroVmSpec? Started { get; private set; }

    public LoggerSettings? Logger { get; private set; }

    /// <summary>When set, Start throws this.</summary>
    public Exception? StartFailure { get; set; }

    /// <summary>When set, Start signals <see cref="StartEntered"/> and waits for this before returning.</summary>
    public ManualResetEventSlim? HoldStart { get; set; }

    public ManualResetEventSlim StartEntered { get; } = new();

    public IReadOnlyList<string> Calls
    {
        get { lock (_calls) return [.. _calls]; }
    }

    public void Start(MicroVmSpec spec)
    {
        Record("Start");
        StartEntered.Set();
        HoldStart?.Wait(TimeSpan.FromSeconds(30));
        if (StartFailure is { } e) throw e;
        Started = spec;
    }

    public void Pause() => Record("Pause");

    public void CreateSnapshot(string statePath, string memoryPath) => Record($"CreateSnapshot {statePath} {memoryPath}");

    /// <summary>When set, LoadSnapshot throws this.</summary>
    public Exception? LoadFailure { get; set; }

    public SnapshotShape LoadSnapshot(string statePath, string memoryPath, bool resume, IReadOnlyDictionary<string, string> tapOverrides)
    {
        Record($"LoadSnapshot {statePath} {memoryPath} resume={resume} " + string.Join(",", tapOverrides.Select(o => $"{o.Key}={o.Value}")));
        if (LoadFailure is { } e) throw e;
        return new SnapshotShape(2, 256);
    }

    public void Resume() => Record("Resume");

    public void SendCtrlAltDel() => Record("SendCtrlAltDel");

    public void UpdateDrivePath(string driveId, string pathOnHost) => Record($"UpdateDrivePath {driveId} {pathOnHost}");

    public void ConfigureLogger(LoggerSettings settings)
    {
        Record("ConfigureLogger");
        Logger = settings;
    }

    private void Record(string call)
    {
        lock (_calls) _calls.Add(call);
    }
}
