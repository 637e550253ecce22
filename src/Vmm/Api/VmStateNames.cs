namespace Csvmm.Vmm.Api;

public static class VmStateNames
{
    /// <summary>The strings GET / reports: "Not started", "Running", "Paused".</summary>
    public static string ToApiString(this VmState state) => state switch
    {
        VmState.Running => "Running",
        VmState.Paused => "Paused",
        _ => "Not started",
    };
}
