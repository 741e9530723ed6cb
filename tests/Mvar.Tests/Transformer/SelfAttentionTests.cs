using Mvar.Transformer;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Transformer;

public class SelfAttentionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RowChunkedDenseAttentionEqualsTheWholeScoreMatrix(bool masked)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var q = randn([2, 3, 300, 8], generator: g);
        var k = randn([2, 3, 700, 8], generator: g);
        var v = randn([2, 3, 700, 8], generator: g);
        // a block-causal-like mask: query row i sees the first 400 + i keys
        var bias = masked ? zeros(300, 700).masked_fill_(arange(700).unsqueeze(0).gt(arange(300).unsqueeze(1).add(400)), float.NegativeInfinity)
            .view(1, 1, 300, 700) : null;
        var whole = SelfAttention.DenseAttention(q, k, v, 0.4, bias, maxScores: long.MaxValue);
        long bound = 2 * 3 * 700 * 37;   // 37 query rows per chunk: 9 chunks, the last one short
        Assert.Equal(37, SelfAttention.DenseChunkRows(6, 300, 700, bound));
        AssertClose(whole, SelfAttention.DenseAttention(q, k, v, 0.4, bias, maxScores: bound), 1e-6, "chunked");
    }

    [Fact]
    public void VarAt1024PxRunsItsLastScaleInChunksOfAtMost32MScores()
    {
        // VAR-d16, B=1 with guidance (2 rows x 16 heads): 4096 queries of the 64x64 map against all 9451 tokens
        long rows = SelfAttention.DenseChunkRows(32, 4096, 9451);
        Assert.InRange(rows * 32 * 9451, 1, SelfAttention.MaxDenseScores);
        Assert.True(rows < 4096);
        // 256 px (680 tokens) fits in one piece
        Assert.Equal(256, SelfAttention.DenseChunkRows(32, 256, 680));
    }
}
