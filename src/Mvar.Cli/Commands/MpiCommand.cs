using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Mvar.Training.Distributed;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mpirun -np N mvar mpi check</c>: checks an MPI setup (hosts, library, network) before a long data-parallel run.
/// Every rank prints one line: its host, the all-reduce of a known buffer, a model's weights fingerprint before and
/// after the start-up broadcast (each rank initialises differently), and the time of a large all-reduce (median of 5 after a warm-up call).
/// </summary>
public static class MpiCommand
{
    public static Command Create()
    {
        var cmd = new Command("mpi", "Data-parallel training over Open MPI: check the setup");
        var elements = new Option<int>("--elements") { Description = "length of the known buffer all-reduced", DefaultValueFactory = _ => 1000 };
        var megabytes = new Option<int>("--megabytes") { Description = "size of the timed all-reduce (float32)", DefaultValueFactory = _ => 16 };
        var check = new Command("check", "Run under mpirun: all-reduce, broadcast and all-reduce speed, one line per rank") { elements, megabytes };
        check.SetAction(p => Cli.Run(() =>
        {
            using var comm = Communicators.FromEnvironment(requireMpi: true);
            int n = p.GetValue(elements), mb = p.GetValue(megabytes);
            if (n < 1 || mb < 1) throw new MvarException("--elements and --megabytes must be positive");

            // buffer[i] = (rank + 1) * (i + 1): the sum over the ranks is (i + 1) * N(N+1)/2
            var buffer = new float[n];
            for (int i = 0; i < n; i++) buffer[i] = (comm.Rank + 1f) * (i + 1);
            comm.AllReduceSum(buffer);

            // a small model initialised from the rank's own seed, then rank 0's weights broadcast
            manual_seed(comm.Rank + 1);
            using var model = nn.Sequential(("0", nn.Linear(16, 32)), ("1", nn.BatchNorm1d(32)), ("2", nn.Linear(32, 4)));
            using (no_grad()) model.state_dict()["1.running_mean"].normal_();
            double before = Fingerprint(model);
            GradientAverager.BroadcastState(comm, model);
            double after = Fingerprint(model);

            // one warm-up call (connections, shared-memory segments, first touch of the pages), then the median of 5
            var big = new float[mb * (1 << 20) / sizeof(float)];
            comm.AllReduceSum(big);
            var times = new List<double>();
            for (int i = 0; i < 5; i++)
            {
                comm.Barrier();
                var sw = Stopwatch.StartNew();
                comm.AllReduceSum(big);
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            double ms = times.Order().ElementAt(2);

            var line = string.Create(CultureInfo.InvariantCulture,
                $"rank {comm.Rank} of {comm.Size} on {Environment.MachineName} (local {comm.LocalRank} of {comm.LocalSize}): allreduce {buffer[0]:R} "
                    + $"{buffer[n - 1]:R}; weights before {before:R} after {after:R}; {mb} MB all-reduce {ms:F1} ms (median of 5)");
            Console.WriteLine(line);
            return 0;
        }));
        cmd.Subcommands.Add(check);
        return cmd;
    }

    /// <summary>A number that differs between differently initialised models: Σ (k+1)·mean(tensor k) over the state.</summary>
    static double Fingerprint(nn.Module m)
    {
        double f = 0; int k = 0;
        foreach (var (_, t) in m.state_dict())
            if (t.is_floating_point()) f += ++k * t.to_type(ScalarType.Float64).mean().item<double>();
        return f;
    }
}
