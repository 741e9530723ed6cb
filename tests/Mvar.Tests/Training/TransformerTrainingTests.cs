using System.Globalization;
using Mvar.Tokens;
using Mvar.Training;
using Mvar.Transformer;
using Xunit.Abstractions;
using static Mvar.Tests.Training.TrainingFixtures;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

[Collection("TinyTokenizer")]
public class TransformerTrainingTests(ITestOutputHelper output)
{
    static double GroupLoss(TransformerTrainer tr, ScaleGroup g)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (gt, lbl) = ParityTokens().Load([0, 1]);
        return tr.Objective(lbl, gt, g).loss.item<float>();
    }

    [Theory]
    [InlineData("var", 0)]      // all scales, block-causal
    [InlineData("mvar", 0)]     // the small-scale group
    [InlineData("mvar", 8)]     // scale 4 alone, neighbourhood attention (ratio_k 8: step 8)
    [InlineData("mvar", 9)]     // scale 5 alone
    public void OneStepChangesWeightsAndLowersTheLossOnAFixedBatch(string arch, long step)
    {
        using var tr = NewTrainer(arch, Plain(), ParityTokens());
        var group = tr.GroupAt(step);
        // jump to the step to train that group (the data order has one batch per epoch: always the fixed batch)
        tr.SeekStep(step);
        double before = GroupLoss(tr, group);
        var w0 = Snapshot(tr.Transformer);
        var m = tr.Step();
        double after = GroupLoss(tr, group);
        output.WriteLine($"{arch} step {step} scales [{group.FirstScale},{group.EndScale}): loss {before:g6} -> {after:g6}, reported {m["loss"]:g6}");
        Assert.Equal(before, m["loss"], 5);
        Assert.True(after < before, $"loss did not decrease: {before} -> {after}");
        var w1 = tr.Transformer.state_dict();
        int changed = w0.Count(kv => !kv.Value.eq(w1[kv.Key]).all().item<bool>());
        Assert.True(changed > 10, $"only {changed} tensors changed");
    }

    [Fact]
    public void VarTrainingLogitsEqualTheOfficialForwardOnTheParityFixtures()
    {
        using var tr = NewTrainer("var", Plain(), ParityTokens(), "var.pth");
        using var _ = no_grad();
        var (gt, lbl) = ParityTokens().Load([0, 1]);
        Assert.Equal(Tensors("expected_var.pth")["label_B"].data<long>().ToArray(), lbl.data<long>().ToArray());
        var input = tr.GroupInput(gt, tr.GroupAt(0))!;
        AssertClose(Tensors("expected_vae.pth")["var_input"], input, 1e-5, "x_BLCv_wo_first_l");
        var (loss, logits) = tr.Objective(lbl, gt, tr.GroupAt(0));
        AssertClose(Tensors("expected_var.pth")["fwd_logits"], logits, 1e-4, "fwd_logits");
        output.WriteLine($"var training logits max|diff| {MaxAbsDiff(logits, Tensors("expected_var.pth")["fwd_logits"]):g3}, loss {loss.item<float>()}");
    }

    [Fact]
    public void MvarTrainingGroupLogitsEqualTheOfficialTrainerForwards()
    {
        using var tr = NewTrainer("mvar", Plain() with { RatioK = 1 }, ParityTokens(), "mvar.pth");
        using var _ = no_grad();
        var exp = Tensors("expected_mvar.pth");
        var (gt, lbl) = ParityTokens().Load([0, 1]);
        for (int g = 0; g < 3; g++)
        {
            var group = tr.GroupAt(g);   // ratio_k 1: small group, scale 4, scale 5
            var meta = exp[$"fwd_g{g}_meta"].data<long>().ToArray();
            Assert.Equal(meta[0], group.ProgEd);
            Assert.Equal(meta[1], tr.Transformer.Layout.Begin(group.FirstScale));
            Assert.Equal(meta[2], tr.Transformer.Layout.End(group.EndScale - 1));
            Assert.Equal(meta[3] != 0, group.UsingNattn);
            AssertClose(exp[$"fwd_g{g}_x_in"], tr.GroupInput(gt, group)!, 1e-5, $"g{g} x_in");
            var (_, logits) = tr.Objective(lbl, gt, group);
            AssertClose(exp[$"fwd_g{g}_logits"], logits, 1e-4, $"g{g} logits");
        }
    }

    [Fact]
    public void MvarScheduleVisitsTheScaleGroupsInTheOfficialOrder()
    {
        // official: cycle = ratio_k + K - refine_step; the first ratio_k steps train scales [0, refine_step), then one large scale each
        var seq = Enumerable.Range(0, 20).Select(g => MvarSchedule.At(g, 6, 4, 8)).ToList();
        var expected = new List<ScaleGroup>();
        for (int c = 0; c < 2; c++)
        {
            for (int i = 0; i < 8; i++) expected.Add(new ScaleGroup(3, 0, 4, false));
            expected.Add(new ScaleGroup(4, 4, 5, true));
            expected.Add(new ScaleGroup(5, 5, 6, true));
        }
        Assert.Equal(expected, seq);
        // ratio_k 1 alternates small group, scale 4, scale 5 (the fixture's trainer_groups order)
        Assert.Equal([new ScaleGroup(3, 0, 4, false), new ScaleGroup(4, 4, 5, true), new ScaleGroup(5, 5, 6, true), new ScaleGroup(3, 0, 4, false)],
            Enumerable.Range(0, 4).Select(g => MvarSchedule.At(g, 6, 4, 1)));
        // the official formula's quirk: with K - refine_step > ratio_k > 1, large scales wrap modulo ratio_k
        Assert.Equal([4, 5, 4], Enumerable.Range(2, 3).Select(g => MvarSchedule.At(g, 7, 4, 2).ProgEd));
        Assert.Equal([6], MvarSchedule.NeverTrained(7, 4, 2));
        Assert.Empty(MvarSchedule.NeverTrained(10, 8, 8));
        // VAR-d16-style: 10 scales, refine_step 8, ratio_k 8: 8 small steps, then scales 8 and 9
        Assert.Equal([7, 7, 7, 7, 7, 7, 7, 7, 8, 9, 7], Enumerable.Range(0, 11).Select(g => MvarSchedule.At(g, 10, 8, 8).ProgEd));
    }

    [Fact]
    public void ResumedRunReproducesTheUninterruptedLossSequenceExactly()
    {
        // class dropout, stochastic depth and warm-up on, 4 samples in batches of 2 (shuffled every epoch)
        var t = Plain() with { Epochs = 4, CondDropRate = 0.5, DropPathRate = 0.2, Wp = 1, RatioK = 2, SaveEvery = 1000 };
        var data = ParityTokens(copies: 2);
        string full = Fixtures.TempDir(), part = Fixtures.TempDir();
        var a = new List<double>(); var b = new List<double>();
        using (var tr = NewTrainer("mvar", t, data))
            TrainingRun.Run(tr, full, new RunOptions { OnStep = (_, m) => a.Add(m["loss"]), TensorBoard = false });
        using (var tr = NewTrainer("mvar", t, data))
            Assert.Equal(RunOutcome.StoppedAtStep, TrainingRun.Run(tr, part, new RunOptions
            {
                StopAfter = 3, OnStep = (_, m) => b.Add(m["loss"]),
                TensorBoard = false
            }));
        Assert.Equal(3, b.Count);
        using (var tr = NewTrainer("mvar", t, data))
        {
            tr.Restore(part);
            Assert.Equal(3, tr.NextStep);
            TrainingRun.Run(tr, part, new RunOptions { OnStep = (_, m) => b.Add(m["loss"]), TensorBoard = false });
        }
        output.WriteLine(string.Join(" ", a.Select(x => x.ToString("g6", CultureInfo.InvariantCulture))));
        Assert.Equal(8, a.Count);
        Assert.Equal(a, b);   // bit-identical
        var csv = CsvLog.ReadColumn(Path.Combine(part, TrainingRun.MetricsFile), "loss");
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), csv.Select(r => r.step));
        Assert.Equal(a, csv.Select(r => r.value));
        // run.json counts the whole run's analytic FLOPs, both parts: the groups of its 8 steps (ratio_k 2)
        using var run = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(part, TrainingRun.RunFile)));
        var cfg = TrainingFixtures.Config("mvar", t);
        var pattern = ScaleTransformer.DefaultPattern(cfg.Transformer!, new ScaleLayout(cfg.Tokenizer.PatchNums));
        double expected = Enumerable.Range(0, 8).Sum(g => TrainingFlops.PerStep(cfg.Transformer!, cfg.Tokenizer, pattern, MvarSchedule.At(g, 6, 4, 2), 2));
        Assert.Equal(expected, run.RootElement.GetProperty("analytic_train_flops").GetDouble(), expected * 1e-12);
    }

    public static TheoryData<string, string, string> DamagedFields() => new()
    {
        { "step", "text", "the field 'step' is String, expected an integer" },
        { "step", "huge", "the field 'step' is 1099511627776, outside" },
        { "optimizer", "float", "the field 'optimizer' is a Float32 tensor" },
        { "optimizer", "bytes", "the field 'optimizer' cannot be restored" },
        { "rng", "bytes", "the field 'rng' holds 5 bytes, a generator state has" },
        { "data_order", "missing", "the field 'data_order' is missing" },
        { "kind", "float", "the field 'kind' is Tensor, expected a string" },
        { "config", "missing", "the field 'config' is missing" },
        { "info", "text", "the field 'info' cannot be restored" },
    };

    [Theory]
    [MemberData(nameof(DamagedFields))]
    public void ADamagedTrainingCheckpointFieldIsOneErrorNamingIt(string field, string damage, string expected)
    {
        string dir = Fixtures.TempDir();
        var t = Plain() with { Epochs = 4 };
        using (var tr = NewTrainer("var", t, ParityTokens()))
            Assert.Equal(RunOutcome.StoppedAtStep, TrainingRun.Run(tr, dir, new RunOptions { StopAfter = 1, TensorBoard = false }));
        string path = Path.Combine(dir, Trainer.CheckpointFile);
        var root = (Dictionary<object, object?>)Mvar.IO.TorchCheckpoint.Load(path)!;
        if (damage == "missing") root.Remove(field);
        else root[field] = damage switch
        {
            "text" => "seven",
            "huge" => 1L << 40,
            "float" => zeros(3),
            _ => tensor(new byte[] { 1, 2, 3, 4, 5 }),
        };
        Mvar.IO.TorchSave.Save(path, root);
        var e = Assert.Throws<CheckpointException>(() =>
        {
            Trainer.ReadHeader(dir);
            using var tr = NewTrainer("var", t, ParityTokens());
            tr.Restore(dir);
        });
        output.WriteLine(e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void NonFiniteLossStopsNamingTheStepAndKeepsTheLastCheckpoint()
    {
        string dir = Fixtures.TempDir();
        using var tr = NewTrainer("var", Plain() with { SaveEvery = 2 }, ParityTokens());
        Assert.Equal(RunOutcome.StoppedAtStep, TrainingRun.Run(tr, dir, new RunOptions { StopAfter = 2, TensorBoard = false }));
        byte[] saved = File.ReadAllBytes(Path.Combine(dir, Trainer.CheckpointFile));
        using (no_grad()) tr.Transformer.parameters().First().fill_(float.NaN);
        var e = Assert.Throws<NonFiniteLossException>(() => TrainingRun.Run(tr, dir, new RunOptions { TensorBoard = false }));
        Assert.Equal(2, e.Step);
        Assert.Contains("step 2", e.Message);
        Assert.Equal(saved, File.ReadAllBytes(Path.Combine(dir, Trainer.CheckpointFile)));
        using var again = NewTrainer("var", Plain(), ParityTokens());
        again.Restore(dir);
        Assert.Equal(2, again.NextStep);
    }
}
