namespace Mvar;

/// <summary>
/// How far a long job is: <see cref="Done"/> of <see cref="Total"/> units (training steps, images), and the current
/// loss where there is one. The library's long jobs report it through an <see cref="IProgress{T}"/> of this type;
/// how it is shown (a live bar, log lines) is the caller's.
/// </summary>
public readonly record struct WorkProgress(long Done, long Total, double? Loss = null);
