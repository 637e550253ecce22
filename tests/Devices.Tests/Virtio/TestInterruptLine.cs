namespace Csvmm.Devices.Tests.Virtio;

/// <summary>An interrupt line that counts its edges.</summary>
public sealed class TestInterruptLine : IInterruptLine
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Trigger() => Interlocked.Increment(ref _count);
}
