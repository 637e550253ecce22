using System.Diagnostics;
using Csvmm.Vmm.Api.Http;
using Csvmm.Vmm.Api.Models;
using Serilog;

namespace Csvmm.Vmm.Api;

/// <summary>
/// Starts csvmm's Firecracker personality in Firecracker's order (main_exec in
/// src/firecracker/src/main.rs): the logger and metrics from the command line, then the API
/// socket (unless --no-api), then, with --config-file, the configuration and InstanceStart at
/// once; without one, the VM starts when a client sends InstanceStart. Everything the VM itself
/// does goes through <see cref="IVmLifecycle"/>.
/// </summary>
public sealed class FirecrackerApiHost : IDisposable
{
    private FirecrackerApiHost(FirecrackerController controller, UnixSocketHttpServer? server)
    {
        Controller = controller;
        Server = server;
    }

    public FirecrackerController Controller { get; }

    /// <summary>The API server; null with --no-api.</summary>
    public UnixSocketHttpServer? Server { get; }

    /// <exception cref="FaultException">The command line's logger or metrics could not be set up.</exception>
    /// <exception cref="ApiSocketException">The API socket could not be bound.</exception>
    /// <exception cref="FirecrackerConfigException">The config file is unreadable or refused.</exception>
    /// <exception cref="FaultException">InstanceStart from the config file failed ("Start microvm error: ...").</exception>
    public static FirecrackerApiHost Start(FirecrackerOptions options, IVmLifecycle vm, string csvmmVersion, ILogger? log = null,
        Metrics.IMetricsSource? metrics = null)
    {
        log ??= Serilog.Core.Logger.None;
        var controller = new FirecrackerController(vm, options.InstanceId, csvmmVersion) { MetricsSource = metrics };
        UnixSocketHttpServer? server = null;
        try
        {
            foreach (string flag in options.IgnoredFlags)
                log.Information("{Flag} is accepted and has no effect in csvmm", flag);
            if (options.LogPath is not null || options.Level is not null || options.ShowLevel || options.ShowLogOrigin || options.Module is not null)
            {
                controller.PutLogger(new LoggerConfig
                {
                    LogPath = options.LogPath,
                    Level = options.Level,
                    ShowLevel = options.ShowLevel ? true : null,
                    ShowLogOrigin = options.ShowLogOrigin ? true : null,
                    Module = options.Module,
                });
            }
            if (options.MetricsPath is { } metricsPath)
                controller.PutMetrics(new MetricsConfig { MetricsPath = metricsPath });

            if (!options.NoApi)
            {
                var router = new ApiRouter(controller, controller.ApiMetrics, log);
                var limits = HttpLimits.Default with { MaxBodyBytes = options.HttpApiMaxPayloadSize };
                server = new UnixSocketHttpServer(options.ApiSocket, router.Handle, limits, log);
                server.Start();
                log.Information("Listening on API socket ({Path})", options.ApiSocket);
                RecordStartupTime(controller, options);
            }

            if (options.ConfigFile is { } configFile)
            {
                FirecrackerConfigFile.Load(configFile, controller);
                controller.StartInstance();
                log.Information("Successfully started microvm that was configured from one single json");
            }
            return new FirecrackerApiHost(controller, server);
        }
        catch
        {
            server?.Dispose();
            controller.Dispose();
            throw;
        }
    }

    /// <summary>
    /// api_server.process_startup_time_us and _cpu_us, as ProcessTimeReporter does when the jailer
    /// passed --start-time-us / --start-time-cpu-us (CLOCK_MONOTONIC and process CPU time).
    /// </summary>
    private static void RecordStartupTime(FirecrackerController controller, FirecrackerOptions options)
    {
        if (options.StartTimeUs is { } startUs)
        {
            long nowUs = (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));
            controller.ApiMetrics.ApiServer.Set("process_startup_time_us", Math.Max(0, nowUs - startUs));
        }
        if (options.StartTimeCpuUs is { } startCpuUs)
        {
            long cpuUs = (long)Process.GetCurrentProcess().TotalProcessorTime.TotalMicroseconds;
            controller.ApiMetrics.ApiServer.Set("process_startup_time_cpu_us", Math.Max(0, cpuUs - startCpuUs) + (options.ParentCpuTimeUs ?? 0));
        }
    }

    public void Dispose()
    {
        Server?.Dispose();
        Controller.Dispose();
    }
}
