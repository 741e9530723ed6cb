using static TorchSharp.torch;

namespace Mvar.Tests;

public class TorchSharpTests
{
    [Fact]
    public void NativeBackendLoadsAndComputes()
    {
        // Loading libLibTorchSharp.so is what the build's GLIBCXX_3.4.32 fix is for: this fails without it on Debian 12.
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }
}
