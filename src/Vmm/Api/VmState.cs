namespace Csvmm.Vmm.Api;

/// <summary>Firecracker's VmState (src/vmm/src/vmm_config/instance_info.rs).</summary>
public enum VmState
{
    NotStarted,
    Running,
    Paused,
}
