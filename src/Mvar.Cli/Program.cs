using System.CommandLine;
using Mvar.Cli;
using Mvar.Cli.Commands;

Mvar.TorchRuntime.EnableHugePageAllocations();   // before libtorch allocates anything
// Spectre.Console lays tables out for 80 columns when stdout is not a terminal (unless COLUMNS says otherwise), which
// wraps the benchmark and comparison tables people redirect into result files; give them room instead
if (Console.IsOutputRedirected && !int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out _))
    Spectre.Console.AnsiConsole.Profile.Width = 200;
var root = new RootCommand("mvar: next-scale visual autoregressive image generation (VAR and MVAR) on TorchSharp");
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(ReconstructCommand.Create());
root.Subcommands.Add(SampleCommand.Create());
root.Subcommands.Add(EditCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(AnalyzeCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(CurveCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(MpiCommand.Create());
return Cli.Invoke(root, args);
