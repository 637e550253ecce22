namespace Csvmm.Vmm.Api.Metrics;

/// <summary>
/// The API's own metrics under Firecracker's names (src/vmm/src/logger/metrics.rs): requests and
/// failures per endpoint, start-up time, pause/resume latency, metrics that could not be written.
/// </summary>
public sealed class ApiMetrics
{
    public MetricGroup ApiServer { get; } = new("api_server", isCounter: false, allKeysPresent: true, "process_startup_time_us", "process_startup_time_cpu_us");

    public MetricGroup Get { get; } = new("get_api_requests", isCounter: true, allKeysPresent: true,
        "instance_info_count", "machine_cfg_count", "vmm_version_count");

    public MetricGroup Put { get; } = new("put_api_requests", isCounter: true, allKeysPresent: true,
        "actions_count", "actions_fails", "boot_source_count", "boot_source_fails", "drive_count", "drive_fails",
        "logger_count", "logger_fails", "machine_cfg_count", "machine_cfg_fails", "metrics_count", "metrics_fails",
        "network_count", "network_fails");

    public MetricGroup Patch { get; } = new("patch_api_requests", isCounter: true, allKeysPresent: true,
        "drive_count", "drive_fails", "machine_cfg_count", "machine_cfg_fails", "network_count", "network_fails");

    /// <summary>Microseconds the last pause, resume, full snapshot and snapshot load took (stores, not counters).</summary>
    public MetricGroup Latencies { get; } = new("latencies_us", isCounter: false, allKeysPresent: true, "pause_vm", "resume_vm", "full_create_snapshot", "load_snapshot");

    public MetricGroup Logger { get; } = new("logger", isCounter: true, allKeysPresent: true, "missed_metrics_count", "metrics_fails", "missed_log_count");

    public IEnumerable<MetricGroup> Groups => [ApiServer, Get, Latencies, Logger, Patch, Put];
}
