namespace Mvar.Training;

/// <summary>One teacher-forced training group: the scales [FirstScale, EndScale) trained together.</summary>
public readonly record struct ScaleGroup(int ProgEd, int FirstScale, int EndScale, bool UsingNattn);

/// <summary>
/// Which scales a training step covers. VAR: all scales every step. MVAR (official trainer.train_one_ep_ratio_k):
/// the step's position in a cycle of ratio_k + (K - refine_step) steps chooses either the small scales
/// [0, refine_step) together (the first ratio_k positions) or one large scale alone with neighbourhood attention.
/// The formula is reproduced exactly, including its quirk: with ratio_k > 1 the large scale is
/// refine_step + (position % ratio_k), so when K - refine_step &gt; ratio_k some large scales are never trained.
/// </summary>
public static class MvarSchedule
{
    public static ScaleGroup At(long gIt, int numScales, int refineStep, int ratioK)
    {
        int numStagesMinus1 = numScales - 1;
        long cycle = ratioK + numStagesMinus1 + 1 - refineStep;
        long curProg = gIt % cycle;
        if (curProg < ratioK) return new ScaleGroup(refineStep - 1, 0, refineStep, false);
        int progEd = ratioK != 1 ? refineStep + (int)(curProg % ratioK) : refineStep + (int)(curProg - 1);
        return new ScaleGroup(progEd, progEd, progEd + 1, progEd >= refineStep);
    }

    public static ScaleGroup Var(int numScales) => new(numScales - 1, 0, numScales, false);

    /// <summary>The large scales the official formula never visits for these settings (empty when all are trained).</summary>
    public static IReadOnlyList<int> NeverTrained(int numScales, int refineStep, int ratioK)
    {
        long cycle = ratioK + numScales - refineStep;
        var seen = new HashSet<int>();
        for (long g = 0; g < cycle; g++) seen.Add(At(g, numScales, refineStep, ratioK).ProgEd);
        return Enumerable.Range(refineStep, numScales - refineStep).Where(s => !seen.Contains(s)).ToList();
    }
}
