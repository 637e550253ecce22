namespace Csvmm.Vmm.Api;

/// <summary>Which Firecracker csvmm answers as.</summary>
public static class FirecrackerVersions
{
    /// <summary>
    /// The Firecracker release whose API (src/firecracker/swagger/firecracker.yaml) and config
    /// file csvmm follows, reported by GET /version and <c>--version</c> (orchestrators such as
    /// Kata Containers parse "Firecracker vX.Y.Z" and check a minimum).
    /// </summary>
    public const string ApiVersion = "1.16.1";

    /// <summary>Firecracker's default API socket (DEFAULT_API_SOCK_PATH in src/firecracker/src/main.rs).</summary>
    public const string DefaultApiSocket = "/run/firecracker.socket";

    /// <summary>Firecracker's default instance id (DEFAULT_INSTANCE_ID in src/vmm/src/logger/logging.rs).</summary>
    public const string DefaultInstanceId = "anonymous-instance";
}
