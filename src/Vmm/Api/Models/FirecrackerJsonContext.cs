using System.Text.Json.Serialization;

namespace Csvmm.Vmm.Api.Models;

/// <summary>
/// Source-generated JSON metadata for every Firecracker API type (NativeAOT-safe: no reflection
/// at run time). Absent optional values are left out of responses.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BootSourceConfig))]
[JsonSerializable(typeof(DriveConfig))]
[JsonSerializable(typeof(PartialDrive))]
[JsonSerializable(typeof(NetworkInterfaceConfig))]
[JsonSerializable(typeof(PartialNetworkInterface))]
[JsonSerializable(typeof(MachineConfig))]
[JsonSerializable(typeof(MachineConfigUpdate))]
[JsonSerializable(typeof(LoggerConfig))]
[JsonSerializable(typeof(MetricsConfig))]
[JsonSerializable(typeof(InstanceActionInfo))]
[JsonSerializable(typeof(VmStateUpdate))]
[JsonSerializable(typeof(InstanceInfo))]
[JsonSerializable(typeof(FirecrackerVersion))]
[JsonSerializable(typeof(FullVmConfiguration))]
[JsonSerializable(typeof(SnapshotCreateParams))]
[JsonSerializable(typeof(SnapshotLoadParams))]
public sealed partial class FirecrackerJsonContext : JsonSerializerContext;
