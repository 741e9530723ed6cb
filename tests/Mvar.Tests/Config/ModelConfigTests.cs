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
    [InlineData("""{"tokenizer": {}, "transformer": {"arch": "gpt"}}""", "transformer.arch: must be \"var\" or \"mvar\", got \"gpt\"")]
    [InlineData("""{"tokenizer": {}, "transformer": {"kernel_size": 4}}""", "odd")]
    [InlineData("""{"tokenizer": {}, "transformer": {"refine_step": 11}}""", "refine_step")]
    [InlineData("""{"tokenizer": {"patch_nums": "1,2"}}""", "tokenizer.patch_nums: must be a list")]
    [InlineData("""{"tokenizer": {"vocab_size": 4096,""", "not valid JSON")]
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

    [Theory]
    [InlineData("""{"tokenizer": null}""", "tokenizer: must be an object, not null")]
    [InlineData("""{"tokenizer": {"patch_nums": null}}""", "tokenizer.patch_nums: must be a list, not null")]
    [InlineData("""{"tokenizer": {"ch_mult": [1, null]}}""", "tokenizer.ch_mult[1]: must not be null")]
    [InlineData("""{"tokenizer": {}, "training": {"betas": null}}""", "training.betas: must be a list, not null")]
    [InlineData("""{"tokenizer": {}, "training": {"epochz": 3}}""", "training.epochz: unknown key \"epochz\"")]
    [InlineData("""{"tokenizer": {"image_size": 256}}""", "tokenizer.image_size: \"image_size\" is derived")]
    [InlineData("""{"tokenizer": {}, "transformer": {"head_dim": 64}}""", "transformer.head_dim: \"head_dim\" is derived")]
    [InlineData("""{"tokenizer": {}, "training": {"learning_rate": 1}}""", "is derived")]
    [InlineData("""{"tokenizer": {}, "training": {"sche": "linNaN"}}""", "training.sche must be")]
    [InlineData("""{"tokenizer": {"vocab_size": 2147483648}}""", "outside the range of its type")]
    [InlineData("""{"tokenizer": {"vocab_size": 1.5}}""", "tokenizer.vocab_size: must be an integer")]
    [InlineData("""{"tokenizer": {}, "transformer": {"depth": 2147483647}}""", "transformer.depth must be in [1, 128]")]
    [InlineData("""{"tokenizer": {}, "transformer": {"num_classes": 2147483647}}""", "transformer.num_classes must be in")]
    [InlineData("""{"tokenizer": {}, "transformer": {"mlp_ratio": 1e-9}}""", "transformer.mlp_ratio must be in [0.25, 16]")]
    [InlineData("""{"tokenizer": {"ch_mult": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}}""", "ch_mult must be a list of 1 to 8")]
    [InlineData("""{"tokenizer": {"vocab_size": 1, "vocab_size": 2}}""", "not valid JSON")]
    [InlineData("""{"tokenizer": {}, "transformer": {"embed_dim": 16384, "depth": 128}}""", "parameters")]
    public void SchemaProblemsNameTheirJsonPath(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ModelConfig.Parse(json, "my.json"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void OneErrorListsEveryProblem()
    {
        var e = Assert.Throws<ConfigException>(() => ModelConfig.Parse(
            """{"tokenizer": {"vocab_size": 1, "ch": 48, "bogus": 1}, "transformer": {"depth": 0}, "training": {"batch_size": 0, "xx": 1}}""", "c.json"));
        Assert.StartsWith("c.json: 2 problems: ", e.Message);   // the schema first: unknown keys
        Assert.Contains("tokenizer.bogus", e.Message);
        Assert.Contains("training.xx", e.Message);
        e = Assert.Throws<ConfigException>(() => ModelConfig.Parse(
            """{"tokenizer": {"vocab_size": 1, "ch": 48}, "transformer": {"depth": 0}, "training": {"batch_size": 0}}""", "c.json"));
        Assert.StartsWith("c.json: 4 problems: ", e.Message);
        foreach (var part in new[] { "vocab_size", "tokenizer.ch", "transformer.depth", "training.batch_size" }) Assert.Contains(part, e.Message);
    }

    [Fact]
    public void TheKnownKeysAreTheRecordsSettableProperties()
    {
        // every settable property of every section is accepted with its default value (so keys added later need no list)
        foreach (var (section, type, value) in new (string, Type, object)[]
                 { ("tokenizer", typeof(TokenizerConfig), new TokenizerConfig()), ("transformer", typeof(TransformerConfig), new TransformerConfig()),
                   ("training", typeof(TrainingConfig), new TrainingConfig()) })
        {
            var (keys, derived) = ConfigSchema.Keys(type);
            Assert.True(keys.Count >= 8);
            var body = System.Text.Json.JsonSerializer.Serialize(value, type, new System.Text.Json.JsonSerializerOptions
            { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower, IgnoreReadOnlyProperties = true });
            var obj = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
            Assert.Equal(keys.Keys.Order(), obj.Select(kv => kv.Key).Order());
            string json = section == "tokenizer" ? "{\"tokenizer\": " + body + "}" : "{\"tokenizer\": {}, \"" + section + "\": " + body + "}";
            ModelConfig.Parse(json, section);
            foreach (var d in derived)
                Assert.Contains("is derived", Assert.Throws<ConfigException>(() => ModelConfig.Parse(
                    section == "tokenizer" ? "{\"tokenizer\": {\"" + d + "\": 1}}" : "{\"tokenizer\": {}, \"" + section + "\": {\"" + d + "\": 1}}",
                        "x")).Message);
        }
    }
}
