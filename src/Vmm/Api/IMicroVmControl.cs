using Csvmm.Vmm.Api.Models;

namespace Csvmm.Vmm.Api;

/// <summary>
/// What the API router calls: one method per Firecracker operation. A refusal throws
/// <see cref="FaultException"/> whose message is the fault_message. <see cref="FirecrackerController"/>
/// implements it (configuration, validation, the Not started / Running / Paused state machine).
/// </summary>
public interface IMicroVmControl
{
    InstanceInfo GetInstanceInfo();

    /// <summary>The Firecracker API version csvmm speaks (GET /version).</summary>
    string GetVersion();

    MachineConfig GetMachineConfig();

    FullVmConfiguration GetFullConfig();

    void PutMachineConfig(MachineConfig config);

    void PatchMachineConfig(MachineConfigUpdate update);

    void PutBootSource(BootSourceConfig config);

    void PutDrive(DriveConfig config);

    void PatchDrive(PartialDrive update);

    void PutNetworkInterface(NetworkInterfaceConfig config);

    void PatchNetworkInterface(PartialNetworkInterface update);

    void PutLogger(LoggerConfig config);

    void PutMetrics(MetricsConfig config);

    void StartInstance();

    void SendCtrlAltDel();

    void FlushMetrics();

    void Pause();

    void CreateSnapshot(SnapshotCreateParams request);

    void LoadSnapshot(SnapshotLoadParams request);

    void Resume();
}
