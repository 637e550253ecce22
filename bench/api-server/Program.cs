// A throwaway server per candidate for bench/api-server/run.sh: it listens on the Unix socket
// given as argv[1] and answers GET / with Firecracker's instance info, or (variants none, csvmm)
// prints "ready" and idles. Nothing here is part of csvmm.
using System.Text.Json;
using System.Text.Json.Serialization;
#if VARIANT_KESTREL_SLIM || VARIANT_KESTREL_EMPTY || VARIANT_CSVMM_KESTREL
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
#endif

string path = args.Length > 0 ? args[0] : "/tmp/apibench.sock";
File.Delete(path);

#if VARIANT_NONE
Console.Out.WriteLine("ready");
Console.Out.Flush();
Thread.Sleep(Timeout.Infinite);
#elif VARIANT_CSVMM
// Roots every code path of csvmm's command line (as the csvmm binary does), then idles.
Csvmm.Vmm.Cli.CliApp.Run(["--version"]);
Console.Out.WriteLine("ready");
Console.Out.Flush();
Thread.Sleep(Timeout.Infinite);
#elif VARIANT_OWN || VARIANT_CSVMM_API
#if VARIANT_CSVMM_API
Csvmm.Vmm.Cli.CliApp.Run(["--version"]);
#endif
var options = Csvmm.Vmm.Api.FirecrackerCommandLine.Parse(["--api-sock", path]).Options!;
using var host = Csvmm.Vmm.Api.FirecrackerApiHost.Start(options, new IdleVm(), "0.1.0");
Thread.Sleep(Timeout.Infinite);
#elif VARIANT_KESTREL_SLIM
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(o => o.ListenUnixSocket(path));
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BenchJson.Default));
var app = builder.Build();
app.MapGet("/", () => Info.Now);
app.Run();
#elif VARIANT_KESTREL_EMPTY || VARIANT_CSVMM_KESTREL
#if VARIANT_CSVMM_KESTREL
Csvmm.Vmm.Cli.CliApp.Run(["--version"]);
#endif
var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args });
builder.WebHost.UseKestrelCore().ConfigureKestrel(o => o.ListenUnixSocket(path));
var app = builder.Build();
app.Run(async ctx =>
{
    ctx.Response.ContentType = "application/json";
    await ctx.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(Info.Now, BenchJson.Default.Info));
});
app.Run();
#endif

public sealed record Info(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("vmm_version")] string VmmVersion,
    [property: JsonPropertyName("app_name")] string AppName)
{
    public static Info Now => new("anonymous-instance", "Not started", "0.1.0", "csvmm");
}

[JsonSerializable(typeof(Info))]
internal sealed partial class BenchJson : JsonSerializerContext;

#if VARIANT_OWN || VARIANT_CSVMM_API
internal sealed class IdleVm : Csvmm.Vmm.Api.IVmLifecycle
{
    public void Start(Csvmm.Vmm.Api.MicroVmSpec spec) { }
    public void Pause() { }
    public void Resume() { }
    public void SendCtrlAltDel() { }
    public void UpdateDrivePath(string driveId, string pathOnHost) { }
    public void ConfigureLogger(Csvmm.Vmm.Api.LoggerSettings settings) { }
}
#endif
