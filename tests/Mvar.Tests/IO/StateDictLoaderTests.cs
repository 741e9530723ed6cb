using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Tests.IO;

public class StateDictLoaderTests
{
    sealed class Tiny : nn.Module
    {
        public readonly TorchSharp.Modules.Linear fc = nn.Linear(3, 2);
        public readonly TorchSharp.Modules.Linear head = nn.Linear(2, 1);
        public Tiny() : base("Tiny") { RegisterComponents(); }
    }

    [Fact]
    public void CopiesMatchingTensors()
    {
        var m = new Tiny();
        var sd = new Dictionary<string, Tensor>
        {
            ["fc.weight"] = ones(2, 3), ["fc.bias"] = zeros(2), ["head.weight"] = full(1, 2, 7.0f), ["head.bias"] = ones(1),
        };
        StateDictLoader.LoadInto(m, sd, "tiny.pth");
        TensorAssert.Equal(full(1, 2, 7.0f), m.head.weight!);
    }

    [Fact]
    public void ReportsEveryProblemAtOnce()
    {
        var m = new Tiny();
        var sd = new Dictionary<string, Tensor>
        {
            ["fc.weight"] = ones(5, 3), ["fc.bias"] = zeros(2), ["head.weight"] = ones(1, 2), ["extra.thing"] = ones(1),
        };
        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.LoadInto(m, sd, "tiny.pth"));
        Assert.Contains("tiny.pth", e.Message);
        Assert.Contains("fc.weight (checkpoint [5, 3], model [2, 3])", e.Message);
        Assert.Contains("missing key(s): head.bias", e.Message);
        Assert.Contains("unexpected key(s): extra.thing", e.Message);
        // nothing was copied
        Assert.NotEqual(7.0f, m.head.weight!.sum().item<float>());
    }

    [Fact]
    public void IgnoredKeysAreSkippedOnBothSides()
    {
        var m = new Tiny();
        var sd = new Dictionary<string, Tensor> { ["fc.weight"] = ones(2, 3), ["fc.bias"] = zeros(2), ["buffer.only.in.file"] = ones(3) };
        StateDictLoader.LoadInto(m, sd, "tiny.pth", k => k.StartsWith("head.", StringComparison.Ordinal) || k.StartsWith("buffer.", StringComparison.Ordinal));
        TensorAssert.Equal(ones(2, 3), m.fc.weight!);
    }
}
