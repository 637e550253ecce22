namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// csvmm's counters for a metrics line; the running VM implements it. Called on the flushing
/// thread (the API thread for FlushMetrics, a timer thread every 60 s): it must only read counters.
/// </summary>
public interface IMetricsSource
{
    /// <summary>
    /// Adds the VM's groups to <paramref name="groups"/>, with cumulative values: a group per
    /// drive (<see cref="BlockDeviceMetrics.Create"/>), per interface
    /// (<see cref="NetDeviceMetrics.Create"/>) and "vcpu" (<see cref="VcpuMetrics.Create"/>).
    /// Return the same group objects every time (the writer keeps no state in them).
    /// </summary>
    void Collect(List<MetricGroup> groups);
}
