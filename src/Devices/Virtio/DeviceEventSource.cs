namespace Csvmm.Devices.Virtio;

/// <summary>A file descriptor a device wants watched on its thread, with the epoll events (e.g. EPOLLIN | EPOLLET).</summary>
public readonly record struct DeviceEventSource(int Fd, uint Events);
