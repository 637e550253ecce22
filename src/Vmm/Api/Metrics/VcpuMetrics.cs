namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// Firecracker's "vcpu" object (VcpuMetrics in src/vmm/src/logger/metrics.rs): vCPU exits by kind,
/// summed over vCPUs, and failures (KVM_RUN errors, emulation failures). csvmm's exit counters
/// know IO and MMIO exits but not their direction: a source without the split leaves the
/// _in/_out (_read/_write) keys unset and they are not written.
/// </summary>
public static class VcpuMetrics
{
    public static readonly string[] Keys = ["exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures"];

    public static MetricGroup Create() => new("vcpu", isCounter: true, Keys);
}
