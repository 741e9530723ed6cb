namespace Mvar;

/// <summary>
/// A problem with the user's input (a file, a config, an argument) whose message is meant to be shown as is:
/// it names the file, key, shape or value at fault. The CLI prints it on one line and exits non-zero.
/// </summary>
public class MvarException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A model configuration that is malformed or impossible.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : MvarException(message, inner);

/// <summary>A checkpoint that cannot be read, or whose tensors do not fit the model.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : MvarException(message, inner);
