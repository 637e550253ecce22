using Csvmm.Tests.Support;
using Csvmm.Vmm.Tests.Support;
using Xunit;

namespace Csvmm.Vmm.Tests.Boot;

/// <summary>
/// The VMM's boot path, console, exits and exit codes on real KVM, with hand-assembled kernels
/// that run in microseconds (Linux guests are in <see cref="LinuxBootTests"/>).
/// </summary>
[Collection(BootTest.Collection)]
[Trait(BootTest.TraitName, BootTest.TraitValue)]
public sealed class TinyKernelBootTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly ScratchDir _scratch = new("tiny");

    public void Dispose() => _scratch.Dispose();

    private string Kernel(byte[] image, string name) => _scratch.Write($"{name}.elf", image);

    [KvmFact]
    public void Console_output_reaches_stdout_and_an_i8042_reset_exits_0()
    {
        string k = Kernel(TinyKernel.PrintThenReset("hello from the guest\n"), "hello");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello from the guest\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    /// <summary>
    /// A 32-bit ELF with a PVH note is entered at the note's address in 32-bit protected mode with
    /// paging off and EBX = hvm_start_info (magic, command line, memory map): the guest checks each
    /// and exits with 5 only if all hold.
    /// </summary>
    [KvmFact]
    public void Pvh_kernel_is_entered_in_32_bit_mode_with_ebx_at_hvm_start_info()
    {
        string k = TinyKernel.WriteTemp(TinyKernel.PvhEntryCheck(), "pvh");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit);
        Assert.Equal("pvh\n", r.Stdout);
        Assert.Equal(5, r.ExitCode);
    }

    [KvmFact]
    public void Guest_reported_status_becomes_the_exit_code()
    {
        string k = Kernel(TinyKernel.PrintThenExit("bye\n", 3), "exit3");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("bye\n", r.Stdout);
    }

    /// <summary>
    /// Guest statuses are 0-63; a guest that reports one of csvmm's own codes (124 = timeout)
    /// gets 79 and a line saying so, so a script can trust that 124 means the timeout fired.
    /// </summary>
    [KvmFact]
    public void Guest_status_in_csvmms_own_range_is_refused_with_79()
    {
        string k = Kernel(TinyKernel.PrintThenExit("", 124), "exit124");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit);
        Assert.Equal(79, r.ExitCode);
        Assert.Contains("the guest reported status 124; guest statuses must be 0-63", r.Stderr);
    }

    [KvmFact]
    public void Serial_input_reaches_the_guest_and_its_echo_comes_back()
    {
        string k = Kernel(TinyKernel.EchoUntilQ(), "echo");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit, stdin: "ping 123 q");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("ping 123 q", r.Stdout.TrimEnd('\n'));
    }

    /// <summary>
    /// KVM reports an emulation failure as flags, insn_size and insn_bytes (struct emulation_failure
    /// in include/uapi/linux/kvm.h); the line csvmm prints must carry exactly the guest's bytes at RIP.
    /// </summary>
    [KvmFact]
    public void Emulation_failure_prints_the_guest_instruction_bytes_at_rip()
    {
        string k = Kernel(TinyKernel.PopcntFromMmio(), "popcnt-mmio");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "off"], Limit);
        Assert.Equal(82, r.ExitCode);
        // RIP of the POPCNT: the load address plus the 5-byte mov before it.
        Assert.Contains($"RIP 0x{TinyKernel.LoadAddress + 5:x}", r.Stderr);
        var m = System.Text.RegularExpressions.Regex.Match(r.Stderr, "instruction bytes:((?: [0-9a-f]{2})+)");
        Assert.True(m.Success, $"no instruction bytes in: {r.Stderr}");
        var printed = m.Groups[1].Value.Trim().Split(' ').Select(h => Convert.ToByte(h, 16)).ToArray();
        Assert.True(printed.Length >= TinyKernel.PopcntRaxFromRbx.Length, $"too few bytes: {r.Stderr}");
        Assert.Equal(TinyKernel.PopcntRaxFromRbx, printed[..TinyKernel.PopcntRaxFromRbx.Length]);
    }

    [KvmFact]
    public void Boot_marker_is_logged_with_the_time_since_start()
    {
        string k = Kernel(TinyKernel.MarkThenReset(), "mark");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--log-level", "info"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"Guest boot-time marker after \d+ ms", r.Stderr);
    }

    [KvmFact]
    public void Timeout_stops_a_spinning_guest_with_code_124()
    {
        string k = Kernel(TinyKernel.Spin(), "spin");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--timeout", "1", "--log-level", "off"], Limit);
        Assert.Equal(124, r.ExitCode);
        Assert.Contains("still running after 1 s", r.Stderr);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(30));
    }

    [KvmFact]
    public void Console_file_receives_the_guest_output()
    {
        string k = Kernel(TinyKernel.PrintThenReset("to a file\n"), "file");
        string log = _scratch.File("console.log");
        var r = CsvmmProcess.Run(["run", "--kernel", k, "--console", $"file:{log}", "--log-level", "off"], Limit);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal("to a file\n", File.ReadAllText(log));
    }

    [KvmFact]
    public void Sigterm_stops_the_guest_in_order_with_code_143()
    {
        string k = Kernel(TinyKernel.PrintThenSpin("running\n"), "spin-term");
        using var guest = new GuestSession(["run", "--kernel", k, "--log-level", "info"]);
        // The guest printed, so it is in KVM_RUN when the signal lands.
        guest.WaitFor("running", Limit);
        guest.Signal("TERM");
        int code = guest.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(code == 143, $"exit {code}\n{guest.Transcript}");
        Assert.Contains("SIGTERM", guest.Stderr);
    }
}
