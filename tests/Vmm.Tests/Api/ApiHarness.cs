using System.Net.Http.Headers;
using System.Text;
using Csvmm.Vmm.Api;
using Csvmm.Vmm.Api.Http;

namespace Csvmm.Vmm.Tests.Api;

/// <summary>
/// The Firecracker API as csvmm serves it (server, router, controller) with <see cref="FakeVm"/>
/// behind the seam, and an HttpClient talking to it over the Unix socket.
/// </summary>
public sealed class ApiHarness : IDisposable
{
    public ApiHarness(HttpLimits? limits = null)
    {
        Files = new TempFiles();
        Vm = new FakeVm();
        Controller = new FirecrackerController(Vm, "test-vm-1", "0.1.0");
        Router = new ApiRouter(Controller, Controller.ApiMetrics);
        Server = new UnixSocketHttpServer(Files.Socket, Router.Handle, limits);
        Server.Start();
        Http = UnixHttp.Client(Files.Socket);
        Kernel = Files.File("vmlinux");
        Rootfs = Files.File("rootfs.ext4", 1 << 20);
    }

    public TempFiles Files { get; }

    public FakeVm Vm { get; }

    public FirecrackerController Controller { get; }

    public ApiRouter Router { get; }

    public UnixSocketHttpServer Server { get; }

    public HttpClient Http { get; }

    public string Kernel { get; }

    public string Rootfs { get; }

    public Task<(int Status, string Body)> Get(string path) => Send(HttpMethod.Get, path, null);

    public Task<(int Status, string Body)> Put(string path, string json) => Send(HttpMethod.Put, path, json);

    public Task<(int Status, string Body)> Patch(string path, string json) => Send(HttpMethod.Patch, path, json);

    public async Task<(int Status, string Body)> Send(HttpMethod method, string path, string? json)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public void Dispose()
    {
        Http.Dispose();
        Server.Dispose();
        Controller.Dispose();
        Files.Dispose();
    }
}
