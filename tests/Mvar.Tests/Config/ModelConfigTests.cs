using Mvar.Config;

namespace Mvar.Tests.Config;

public class ModelConfigTests
{
    const string Official = """
        {"tokenizer": {"vocab_size": 4096, "z_channels": 32, "ch": 160, "ch_mult": [1,1,2,2,4], "num_res_blocks": 2,
                       "in_channels": 3, "using_sa": true, "using_mid_sa": true, "quant_conv_ks": 3, "quant_resi": 0.5,
                       "share_quant_resi": 4, "patch_nums": [1,2,3,4,5,6,8,10,13,16]},
         "transformer": {"arch": "mvar", "depth": 16, "embed_dim": 1024, "num_heads": 16, "num_classes": 1000, "mlp_ratio": 4.0,
                         "norm_eps": 1e-6, "attn_l2_norm": true, "shared_aln": false, "kernel_size": 7, "refine_step": 8}}
        """;

    [Fact]
    public void TheIssueExampleParsesAndEqualsThePreset()
    {
        var c = ModelConfig.Parse(Official);
        Assert.Equal(256, c.Tokenizer.ImageSize);
        Assert.Equal(16, c.Tokenizer.Downsample);
        Assert.Equal(680, c.Tokenizer.TokenCount);
        Assert.Equal(Presets.Get("mvar-d16").ToJson(), c.ToJson());
    }

    [Fact]
    public void JsonRoundTrip()
    {
        foreach (var (name, preset) in Presets.All)
            Assert.Equal(preset.ToJson(), ModelConfig.Parse(preset.ToJson(), name).ToJson());
    }

    [Theory]
    [InlineData("""{"tokenizer": {"vocab_sise": 10}}""", "unknown key \"vocab_sise\"")]
    [InlineData("""{"tokenizer": {}, "transformer": {"embed_dim": 100, "num_heads": 16}}""", "must divide embed_dim")]
    [InlineData("""{"tokenizer": {"patch_nums": [1,2,2,4]}}""", "strictly increasing")]
    [InlineData("""{"tokenizer": {"ch": 48}}""", "multiple of 32")]
    [InlineData("""{"tokenizer": {}, "transformer": {"arch": "gpt"}}""", "must be \"var\" or \"mvar\"")]
    [InlineData("""{"tokenizer": {}, "transformer": {"kernel_size": 4}}""", "odd")]
    [InlineData("""{"tokenizer": {}, "transformer": {"refine_step": 11}}""", "refine_step")]
    [InlineData("""{"tokenizer": {"patch_nums": "1,2"}}""", "malformed value")]
    [InlineData("""{"tokenizer": {"vocab_size": 4096,""", "malformed")]
    [InlineData("""{"transformer": {"depth": 2}}""", "no \"tokenizer\" section")]
    [InlineData("""{"tokenizer": {}, "transformer": {"num_classes": 3, "class_names": ["a", "b"]}}""", "class_names has 2 names but num_classes is 3")]
    public void BadConfigsAreClearErrors(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ModelConfig.Parse(json, "my.json"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("my.json: ", e.Message);
    }

    [Fact]
    public void UnknownPresetListsTheKnownOnes()
    {
        var e = Assert.Throws<ConfigException>(() => Presets.Get("var-d99"));
        Assert.Contains("var-d16", e.Message);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<ConfigException>(() => ModelConfig.Load("/nonexistent/c.json"));
        Assert.Contains("not found", e.Message);
    }
}
