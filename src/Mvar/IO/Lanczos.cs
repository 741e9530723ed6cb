namespace Mvar.IO;

/// <summary>
/// Separable Lanczos-3 resampling of 8-bit interleaved pixels, following Pillow's <c>Image.resize(LANCZOS)</c>:
/// the kernel is stretched by the scale when down-sampling (anti-aliasing), weights are normalised per output pixel,
/// the horizontal pass runs first and each pass rounds back to 8 bits.
/// </summary>
public static class Lanczos
{
    const double Support = 3.0;

    static double Sinc(double x) => x == 0 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);
    static double Kernel(double x) => x > -Support && x < Support ? Sinc(x) * Sinc(x / Support) : 0.0;

    /// <summary>For each output index: the first input index and the normalised weights of the inputs it reads.</summary>
    static (int start, double[] weights)[] Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        var result = new (int, double[])[outSize];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int lo = Math.Max((int)(center - support + 0.5), 0);
            int hi = Math.Min((int)(center + support + 0.5), inSize);
            var w = new double[Math.Max(hi - lo, 0)];
            double sum = 0;
            for (int i = 0; i < w.Length; i++) { w[i] = Kernel((i + lo - center + 0.5) / filterScale); sum += w[i]; }
            if (sum != 0) for (int i = 0; i < w.Length; i++) w[i] /= sum;
            result[o] = (lo, w);
        }
        return result;
    }

    static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), 0, 255);

    /// <summary>Resizes <paramref name="src"/> (h, w, channels interleaved) to (newH, newW).</summary>
    public static byte[] Resize(byte[] src, int w, int h, int channels, int newW, int newH)
    {
        byte[] cur = src;
        int curW = w;
        if (newW != w)
        {
            var coeffs = Coefficients(w, newW);
            var dst = new byte[h * newW * channels];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < newW; x++)
                {
                    var (lo, ws) = coeffs[x];
                    for (int c = 0; c < channels; c++)
                    {
                        double acc = 0;
                        for (int i = 0; i < ws.Length; i++) acc += ws[i] * cur[(y * curW + lo + i) * channels + c];
                        dst[(y * newW + x) * channels + c] = ToByte(acc);
                    }
                }
            cur = dst; curW = newW;
        }
        if (newH != h)
        {
            var coeffs = Coefficients(h, newH);
            var dst = new byte[newH * curW * channels];
            for (int y = 0; y < newH; y++)
            {
                var (lo, ws) = coeffs[y];
                for (int x = 0; x < curW; x++)
                    for (int c = 0; c < channels; c++)
                    {
                        double acc = 0;
                        for (int i = 0; i < ws.Length; i++) acc += ws[i] * cur[((lo + i) * curW + x) * channels + c];
                        dst[(y * curW + x) * channels + c] = ToByte(acc);
                    }
            }
            cur = dst;
        }
        return cur == src ? (byte[])src.Clone() : cur;
    }
}
