using System.Diagnostics;

namespace Csvmm.Vmm.Tests.Api;

internal static class ProcessExtensions
{
    public static int WaitForExitAndCode(this Process p)
    {
        using (p)
        {
            p.WaitForExit();
            return p.ExitCode;
        }
    }
}
