using Xunit;

namespace Csvmm.Fuzz.Tests;

/// <summary>
/// CI does not fuzz; it replays every committed corpus file (tests/Fuzz/corpus/TARGET/*) through the
/// same entry point afl-fuzz drives. A target lets through only what the code under test documents
/// for bad input, so any exception here is a crash the fuzzer once found (or a regression).
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly string CorpusRoot = Path.Combine(AppContext.BaseDirectory, "corpus");

    public static TheoryData<string, string> CorpusFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in FuzzTargets.Names)
        {
            string dir = Path.Combine(CorpusRoot, target);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.GetFiles(dir).Order())
                data.Add(target, Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_file_runs_without_a_crash(string target, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusRoot, target, file));
        FuzzTargets.Get(target).Run(input);
    }

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (var target in FuzzTargets.Names)
        {
            string dir = Path.Combine(CorpusRoot, target);
            Assert.True(Directory.Exists(dir) && Directory.GetFiles(dir, "seed-*").Length > 0, $"no seeds for {target} in {dir}");
        }
    }

    [Fact]
    public void Targets_take_arbitrary_bytes()
    {
        // Any byte string is a valid program for a target (reads past the end yield zeros); a quick
        // deterministic sample keeps that true between fuzzing sessions.
        var random = new Random(8);
        foreach (var target in FuzzTargets.Names)
        {
            var t = FuzzTargets.Get(target);
            for (int i = 0; i < 200; i++)
            {
                var input = new byte[random.Next(0, 300)];
                random.NextBytes(input);
                t.Run(input);
            }
        }
    }

    [Fact]
    public void Unknown_target_is_refused() =>
        Assert.Throws<ArgumentException>(() => FuzzTargets.Get("no-such-target"));
}
