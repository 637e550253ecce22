namespace Csvmm.Vmm.Api;

/// <summary>
/// What the Firecracker API needs from the VM itself; the VM composition implements it. Every
/// call comes from one thread at a time (the API thread, or the main thread for a config-file
/// start) and may block until done; a failure is reported by throwing, and the exception's
/// message becomes the API's fault_message.
/// </summary>
public interface IVmLifecycle
{
    /// <summary>
    /// Builds the VM from <paramref name="spec"/> and starts its vCPUs; returns once it runs
    /// (Firecracker answers InstanceStart after the vCPUs are started). Throw, leaving nothing
    /// behind, when it cannot start.
    /// </summary>
    void Start(MicroVmSpec spec);

    /// <summary>Parks every vCPU outside KVM_RUN and quiesces the devices; returns once they are parked.</summary>
    void Pause();

    /// <summary>Lets the vCPUs run again after <see cref="Pause"/>.</summary>
    void Resume();

    /// <summary>Injects Ctrl+Alt+Del through the i8042 (the guest decides what to do with it).</summary>
    void SendCtrlAltDel();

    /// <summary>
    /// PATCH /drives/{id} with path_on_host after start: replace the backing file of a running
    /// disk (Kata Containers hot-plugs this way). Throw when that is not supported.
    /// </summary>
    void UpdateDrivePath(string driveId, string pathOnHost);

    /// <summary>
    /// Writes a snapshot of the paused VM: the state to <paramref name="statePath"/>, guest memory
    /// to <paramref name="memoryPath"/>. The VM stays paused.
    /// </summary>
    void CreateSnapshot(string statePath, string memoryPath);

    /// <summary>
    /// Builds the VM a snapshot holds instead of booting one, and starts it running or paused.
    /// <paramref name="tapOverrides"/> maps an iface_id to the TAP it uses instead of the
    /// snapshot's. Throw, leaving nothing behind, when it cannot be restored.
    /// </summary>
    SnapshotShape LoadSnapshot(string statePath, string memoryPath, bool resume, IReadOnlyDictionary<string, string> tapOverrides);

    /// <summary>Applies a validated logger configuration (PUT /logger, the config file, or the command line).</summary>
    void ConfigureLogger(LoggerSettings settings);
}
