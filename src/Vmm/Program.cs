using Csvmm.Vmm.Cli;

namespace Csvmm.Vmm;

public static class Program
{
    public static int Main(string[] args) => CliApp.Run(args);
}
