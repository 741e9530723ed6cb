namespace Mvar.Sampling;

/// <summary>
/// A replica of PyTorch's CPU <c>torch.Generator</c> (MT19937, seeded like <c>manual_seed</c>) for the draws the
/// official samplers make: <see cref="NextDouble"/> is <c>at::uniform_real_distribution&lt;double&gt;(0, 1)</c>
/// (53 bits of a 64-bit draw made from two 32-bit outputs, first one high). Lets a seed reproduce the official
/// torch-1.13 token draws independently of the libtorch version TorchSharp ships.
/// </summary>
public sealed class TorchCpuGenerator
{
    const int N = 624, M = 397;
    readonly uint[] state = new uint[N];
    int next = N;

    public TorchCpuGenerator(ulong seed) => ManualSeed(seed);

    public ulong Seed { get; private set; }

    public void ManualSeed(ulong seed)
    {
        Seed = seed;
        state[0] = (uint)(seed & 0xffffffff);
        for (int j = 1; j < N; j++) state[j] = 1812433253u * (state[j - 1] ^ (state[j - 1] >> 30)) + (uint)j;
        next = N;
    }

    public uint NextUInt32()
    {
        if (next >= N) Twist();
        uint y = state[next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (state[i] & 0x80000000u) | (state[(i + 1) % N] & 0x7fffffffu);
            state[i] = state[(i + M) % N] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908b0dfu : 0u);
        }
        next = 0;
    }

    public ulong NextUInt64()
    {
        ulong hi = NextUInt32(), lo = NextUInt32();
        return (hi << 32) | lo;
    }

    /// <summary>A uniform double in [0, 1) exactly as torch's CPU generator makes it.</summary>
    public double NextDouble() => (NextUInt64() & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));
}
