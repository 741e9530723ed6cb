using Mvar.Config;

namespace Mvar.Training;

/// <summary>
/// The official <c>utils/lr_control.lr_wd_annealing</c>: linear warm-up from wp0 * peak over wp_it steps, then the
/// chosen decay to wpe * peak at max_it - 1; weight decay follows a half cosine from twd to twde over the whole run.
/// </summary>
public static class LrSchedule
{
    public static (double lr, double wd) At(string sche, double peakLr, double wd, double wdEnd, long curIt, double wpIt, long maxIt, double wp0, double wpe)
    {
        long wp = (long)Math.Round(wpIt, MidpointRounding.ToEven);
        double cur;
        if (curIt < wp) cur = wp0 + (1 - wp0) * curIt / wp;
        else
        {
            double denom = maxIt - 1 - wp;
            double pasd = denom > 0 ? (curIt - wp) / denom : 1.0, rest = 1 - pasd;
            switch (sche)
            {
                case "cos": cur = wpe + (1 - wpe) * (0.5 + 0.5 * Math.Cos(Math.PI * pasd)); break;
                case "lin": { double T = 0.15, maxRest = 1 - T; cur = pasd < T ? 1 : wpe + (1 - wpe) * rest / maxRest; break; }
                case "lin0": { double T = 0.05, maxRest = 1 - T; cur = pasd < T ? 1 : wpe + (1 - wpe) * rest / maxRest; break; }
                case "lin00": cur = wpe + (1 - wpe) * rest; break;
                case "exp":
                    {
                        double T = 0.15, maxRest = 1 - T;
                        cur = pasd < T ? 1 : Math.Exp((pasd - T) / maxRest * Math.Log(wpe));
                        break;
                    }
                default:
                    {
                        if (!sche.StartsWith("lin", StringComparison.Ordinal)) throw new ConfigException($"unknown lr schedule {sche}");
                        double T = double.Parse(sche[3..], System.Globalization.CultureInfo.InvariantCulture), maxRest = 1 - T;
                        double wpeMid = wpe + (1 - wpe) * maxRest;
                        wpeMid = (1 + wpeMid) / 2;
                        cur = pasd < T ? 1 + (wpeMid - 1) * pasd / T : wpe + (wpeMid - wpe) * rest / maxRest;
                        break;
                    }
            }
        }
        double p = maxIt > 1 ? (double)curIt / (maxIt - 1) : 1.0;
        double curWd = wdEnd + (wd - wdEnd) * (0.5 + 0.5 * Math.Cos(Math.PI * p));
        return (cur * peakLr, curWd);
    }

    /// <summary>The schedule of a training config at global step <paramref name="step"/> of <paramref name="maxIt"/>.</summary>
    public static (double lr, double wd) At(TrainingConfig t, long step, long maxIt, int itersPerEpoch)
    {
        double wpEpochs = t.Wp > 0 ? t.Wp : t.Epochs / 50.0;
        return At(t.Sche, t.LearningRate, t.Twd, t.FinalWd, step, wpEpochs * itersPerEpoch, maxIt, t.Wp0, t.Wpe);
    }
}
