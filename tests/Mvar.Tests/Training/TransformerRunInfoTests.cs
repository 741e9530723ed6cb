using Mvar.Config;
using Mvar.Training;

namespace Mvar.Tests.Training;

public class TransformerRunInfoTests
{
    [Fact]
    public void WhatARunRecordsReadsBackAndFollowsAMovedRunFolder()
    {
        string root = Fixtures.TempDir(), run = Path.Combine(root, "run"), vae = Path.Combine(root, "vae.pth");
        Directory.CreateDirectory(run);
        File.WriteAllText(vae, "");
        var info = new Dictionary<string, string>();
        var written = new TransformerRunInfo
        {
            Data = "fashion-mnist", Arch = Architecture.Mvar, Vae = vae, Cache = Path.Combine(run, "tokens.cache"), VarMaskInSmallGroup = true,
        };
        written.WriteTo(info, run);
        Assert.Equal("../vae.pth", info["vae"]);
        Assert.Equal(written, TransformerRunInfo.Read(info, run));

        string moved = Path.Combine(Fixtures.TempDir(), "run");   // the run folder copied elsewhere without the tokenizer: the absolute path
        Directory.CreateDirectory(moved);
        Assert.Equal(vae, TransformerRunInfo.Read(info, moved).Vae);
        Assert.Null(TransformerRunInfo.Read(new Dictionary<string, string>(), run).Arch);
    }
}
