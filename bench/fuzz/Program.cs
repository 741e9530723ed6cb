// fuzz FORMAT FIRST COUNT [SEED]: runs the test suite's fuzz cases FIRST..COUNT-1 of FORMAT, one line per case
// ("case N held|FAILED: result"). A case that does not answer within the bound ends the process (exit 3), so that
// its runaway work stops; bench/fuzz-before.sh restarts after it, and after crashes (e.g. a stack overflow).
// FUZZ_BOUND_SECONDS sets the bound (default 5 s, as in the test suite).
using Mvar.Tests.Fuzz;

string format = args[0];
int first = int.Parse(args[1]), count = int.Parse(args[2]), seed = args.Length > 3 ? int.Parse(args[3]) : 18;
string dir = Directory.CreateTempSubdirectory("mvar-fuzz-").FullName;
foreach (var c in FuzzCases.Generate(format, seed, count).Skip(first))
{
    var o = FuzzRunner.Run(c, dir, TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("FUZZ_BOUND_SECONDS"), out var b) ? b : 5));
    string line = new string((o.Result.Length > 160 ? o.Result[..160] + "..." : o.Result).Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());
    Console.WriteLine($"case {c.Index} {(o.Held ? "held" : "FAILED")}: {line} [{c.What}]");
    Console.Out.Flush();
    if (!o.Held && o.Result.StartsWith("no answer")) { Directory.Delete(dir, true); Environment.Exit(3); }
}
Directory.Delete(dir, true);
