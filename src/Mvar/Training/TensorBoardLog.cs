using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// The run folder's TensorBoard events, written by TorchSharp's <see cref="SummaryWriter"/>: one event file per process
/// (a resumed run adds a file of its own, which TensorBoard reads with the others), each event appended and flushed
/// as it is logged, so a kill loses at most the event being written. Scalars carry metrics.csv's column names; NaN
/// (a metric a step did not measure) is left out. Wall times are whole seconds (SummaryWriter's resolution).
/// </summary>
public sealed class TensorBoardLog(string dir)
{
    readonly SummaryWriter w = utils.tensorboard.SummaryWriter(dir);

    public void Scalars(long step, IReadOnlyDictionary<string, double> values)
    {
        int s = checked((int)step);
        foreach (var (tag, v) in values)
            if (!double.IsNaN(v)) w.add_scalar(tag, (float)v, s);
    }

    bool imagesUnavailable;

    /// <summary>
    /// A PNG file as an image summary. SummaryWriter decodes it with SkiaSharp and stores it re-encoded as PNG; without
    /// SkiaSharp's native library (the mvar tool carries it; a library user on Linux adds
    /// SkiaSharp.NativeAssets.Linux) images are left out of the events and training goes on.
    /// </summary>
    public void Image(string tag, string pngPath, long step)
    {
        if (imagesUnavailable) return;
        try { w.add_img(tag, pngPath, checked((int)step)); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException) { imagesUnavailable = true; }
    }
}
