using Csvmm.Fuzz;
using SharpFuzz;

// csvmm-fuzz TARGET               under afl-fuzz: SharpFuzz's fork server runs inputs in this process
// csvmm-fuzz TARGET FILE|DIR...   replay: run each file, print the first failure, exit 1 if any
// csvmm-fuzz --list               the targets
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: csvmm-fuzz TARGET [FILE|DIR...] | --list");
    return 2;
}
if (args[0] == "--list")
{
    foreach (var name in FuzzTargets.Names)
        Console.WriteLine($"{name,-10} {FuzzTargets.Get(name).Description}");
    return 0;
}

if (!FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"csvmm-fuzz: unknown target '{args[0]}' (known: {string.Join(", ", FuzzTargets.Names)})");
    return 2;
}

if (args.Length == 1)
{
    // The target is created inside the fork server: instrumented code must not run before
    // SharpFuzz has mapped AFL's coverage map (it would write through a null pointer).
    var buffer = new MemoryStream();
    Fuzzer.Run(stream =>
    {
        var t = FuzzTargets.Get(args[0]);
        buffer.SetLength(0);
        stream.CopyTo(buffer);
        t.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
    return 0;
}

var target = FuzzTargets.Get(args[0]);

int failures = 0, runs = 0;
foreach (var arg in args.Skip(1))
{
    var files = Directory.Exists(arg) ? Directory.GetFiles(arg).Order() : (IEnumerable<string>)[arg];
    foreach (var file in files)
    {
        runs++;
        try
        {
            target.Run(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"CRASH {file}: {e}");
        }
    }
}
Console.WriteLine($"{target.Name}: {runs} inputs, {failures} crashed");
return failures == 0 ? 0 : 1;
