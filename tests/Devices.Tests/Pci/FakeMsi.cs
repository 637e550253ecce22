using Csvmm.Devices.Pci;

namespace Csvmm.Devices.Tests.Pci;

/// <summary>Records what MSI-X routes and sends.</summary>
public sealed class FakeMsi : IMsiController
{
    public List<Vector> Vectors { get; } = [];

    public IMsiVector CreateVector()
    {
        var v = new Vector();
        Vectors.Add(v);
        return v;
    }

    public sealed class Vector : IMsiVector
    {
        public (ulong Address, uint Data)? Route { get; private set; }
        public int Triggers;
        public int Routes;

        void IMsiVector.Route(ulong address, uint data)
        {
            Route = (address, data);
            Routes++;
        }

        public void Disable() => Route = null;

        public void Trigger() => Interlocked.Increment(ref Triggers);
    }
}
