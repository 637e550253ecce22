namespace Csvmm.Devices.Legacy;

/// <summary>Where the UART's transmitted bytes go (the console).</summary>
public interface ISerialSink
{
    void Write(byte value);
}
