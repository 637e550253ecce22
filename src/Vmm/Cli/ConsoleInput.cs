using Csvmm.Host.Native;
using Csvmm.Vmm.Machine;

namespace Csvmm.Vmm.Cli;

/// <summary>
/// Feeds stdin to the guest's UART on a background thread. Escape: Ctrl-A then 'x' stops the VM
/// (Ctrl-A twice sends one Ctrl-A), since in raw mode Ctrl-C belongs to the guest.
/// </summary>
public sealed class ConsoleInput
{
    private const byte CtrlA = 0x01;
    private readonly VirtualMachine _vm;

    public ConsoleInput(VirtualMachine vm) => _vm = vm;

    public void Start() => new Thread(Pump) { IsBackground = true, Name = "console-in" }.Start();

    private void Pump()
    {
        var buffer = new byte[256];
        var one = new byte[1];
        bool escape = false;
        while (!_vm.Stopping)
        {
            int n = Posix.Read(Posix.StdinFd, buffer);
            if (n <= 0) return; // EOF or error: the guest just gets no more input
            for (int i = 0; i < n; i++)
            {
                byte b = buffer[i];
                if (escape)
                {
                    escape = false;
                    if (b == (byte)'x')
                    {
                        _vm.RequestStop(new StopReason(StopKind.Interrupted, Detail: "stopped from the console (Ctrl-A x)"));
                        return;
                    }
                    if (b != CtrlA) continue;
                }
                else if (b == CtrlA && Posix.IsTerminal(Posix.StdinFd))
                {
                    escape = true;
                    continue;
                }
                one[0] = b;
                while (_vm.Serial.Enqueue(one) == 0)
                {
                    if (_vm.Stopping) return;
                    Thread.Sleep(1);
                }
            }
        }
    }
}
