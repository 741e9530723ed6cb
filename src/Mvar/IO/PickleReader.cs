using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Mvar.IO;

/// <summary>A global named in a pickle (<c>module.name</c>) that is never imported: an inert placeholder.</summary>
public sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>The result of "calling" a <see cref="PickleGlobal"/> (REDUCE / NEWOBJ): nothing runs, the call is recorded.</summary>
public sealed class PickleObject(PickleGlobal type, object?[] args)
{
    public PickleGlobal Type { get; } = type;
    public object?[] Args { get; } = args;
    /// <summary>The argument of BUILD (usually the object's <c>__dict__</c>), if any.</summary>
    public object? State { get; set; }
    public override string ToString() => $"<{Type}>";
}

/// <summary>Something a <see cref="PickleReader"/>'s resolver returns for a global it trusts: called by REDUCE/NEWOBJ.</summary>
public interface IPickleCallable
{
    object? Call(object?[] args);
}

/// <summary>
/// A small, safe and bounded unpickler (protocols 0-5). It builds plain .NET values: null, bool, long, BigInteger (only
/// for integers beyond 64 bits), double, string, byte[], <see cref="List{T}"/> (list), object?[] (tuple),
/// <see cref="Dictionary{TKey,TValue}"/> (dict, insertion-ordered), <see cref="HashSet{T}"/> (set). Globals are never
/// imported: the resolver may map a trusted name to an <see cref="IPickleCallable"/> or any value; everything else
/// becomes a <see cref="PickleGlobal"/>, and calling it gives an inert <see cref="PickleObject"/>. Nothing in a file can
/// run code.
/// Bounds: every length is checked against the bytes left before anything is allocated, so the work and memory are
/// linear in the pickle's size; memo references share one object (a DAG costs its size, not its unfolding); after
/// loading, objects that contain themselves (cycles) and nesting deeper than <see cref="MaxDepth"/> are rejected, so
/// code walking the result never recurses without bound. Every violation is an <see cref="InvalidDataException"/>
/// naming the byte offset and the opcode.
/// </summary>
public sealed class PickleReader
{
    /// <summary>Deepest nesting of containers accepted (a state dict needs fewer than 10).</summary>
    public const int MaxDepth = 1000;
    /// <summary>Longest integer written as text (Python's own default limit for int/str conversion).</summary>
    public const int MaxIntDigits = 4300;

    static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);
    readonly byte[] _b;
    int _p;
    readonly Func<string, string, object?> _resolveGlobal;
    readonly Func<object?, object?> _persistentLoad;
    readonly List<object?> _stack = new();
    readonly Stack<int> _marks = new();          // positions in _stack where each MARK begins
    readonly Dictionary<long, object?> _memo = new();

    public PickleReader(byte[] data, Func<string, string, object?>? resolveGlobal = null, Func<object?, object?>? persistentLoad = null)
    {
        _b = data;
        _resolveGlobal = resolveGlobal ?? ((m, n) => new PickleGlobal(m, n));
        _persistentLoad = persistentLoad ?? (pid => throw new InvalidDataException("pickle uses persistent ids but no loader was given"));
    }

    public object? Load()
    {
        var root = Run();
        CheckGraph(root);
        return root;
    }

    object? Run()
    {
        while (true)
        {
            int at = _p;
            byte op = U8();
            switch (op)
            {
                case 0x80: U8(); break;                                             // PROTO
                case 0x95: Take(8); break;                                          // FRAME (its length is only a hint)
                case (byte)'.': return Pop();                                       // STOP
                case (byte)'(': _marks.Push(_stack.Count); break;                   // MARK
                case (byte)'0': Pop(); break;                                       // POP
                case (byte)'1': PopMark(); break;                                   // POP_MARK
                case (byte)'2': Push(Peek()); break;                                // DUP
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;                                       // NEWTRUE
                case 0x89: Push(false); break;                                      // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case (byte)'K': Push((long)U8()); break;                            // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case 0x8a: Push(Long(Take(U8()))); break;                           // LONG1
                case 0x8b: Push(Long(Take(Len(BinaryPrimitives.ReadInt32LittleEndian(Take(4)), "LONG4")))); break; // LONG4
                case (byte)'I': Push(IntLine(Line(), at)); break;                   // INT
                case (byte)'L': Push(LongText(Line().TrimEnd('L'), at, "LONG")); break; // LONG (text)
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case (byte)'F': Push(FloatText(Line(), at)); break;                 // FLOAT (text)
                case (byte)'X': Push(Utf8(Len(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), "BINUNICODE"), at)); break;
                case 0x8c: Push(Utf8(U8(), at)); break;                             // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Len(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)), "BINUNICODE8"), at)); break;
                case (byte)'V': Push(Line()); break;                                // UNICODE (raw-unicode-escape; ASCII here)
                case (byte)'T': Push(Latin1(Len(BinaryPrimitives.ReadInt32LittleEndian(Take(4)), "BINSTRING"))); break;
                case (byte)'U': Push(Latin1(U8())); break;                          // SHORT_BINSTRING
                case (byte)'S': Push(Line().Trim('\'', '"')); break;                // STRING
                case (byte)'B': Push(Take(Len(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), "BINBYTES")).ToArray()); break;
                case (byte)'C': Push(Take(U8()).ToArray()); break;                  // SHORT_BINBYTES
                case 0x8e: Push(Take(Len(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)), "BINBYTES8")).ToArray()); break;
                case 0x96: Push(Take(Len(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)), "BYTEARRAY8")).ToArray()); break;
                case (byte)')': Push(Array.Empty<object?>()); break;                // EMPTY_TUPLE
                case (byte)'t': Push(PopMark().ToArray()); break;                   // TUPLE
                case 0x85: Push(new[] { Pop() }); break;                            // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)']': Push(new List<object?>()); break;                   // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break;                             // LIST
                case (byte)'a': { var v = Pop(); AsList(Peek(), at).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek(), at).AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new Dictionary<object, object?>()); break;     // EMPTY_DICT
                case (byte)'d': { var items = PopMark(); var d = new Dictionary<object, object?>(); SetItems(d, items, at); Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(Peek(), [k, v], at); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); SetItems(Peek(), items, at); break; } // SETITEMS
                case 0x8f: Push(new HashSet<object?>()); break;                     // EMPTY_SET
                case 0x90: { var items = PopMark(); if (Peek() is HashSet<object?> s) foreach (var x in items) s.Add(x); break; } // ADDITEMS
                case 0x91: Push(new HashSet<object?>(PopMark())); break;            // FROZENSET
                case (byte)'c': { string m = Line(), n = Line(); Push(_resolveGlobal(m, n)); break; } // GLOBAL
                case 0x93:
                    {
                        var n = Pop() as string; var m = Pop() as string;     // STACK_GLOBAL
                        if (m == null || n == null) throw Bad(at, "STACK_GLOBAL without string names");
                        Push(_resolveGlobal(m, n)); break;
                    }
                case (byte)'R':
                    {
                        var args = Pop() as object?[] ?? throw Bad(at, "REDUCE arguments are not a tuple"); Push(Call(Pop(),
                    args)); break;
                    } // REDUCE
                case 0x81: { var args = Pop() as object?[] ?? throw Bad(at, "NEWOBJ arguments are not a tuple"); Push(Call(Pop(), args)); break; } // NEWOBJ
                case 0x92: { Pop(); var args = Pop() as object?[] ?? throw Bad(at, "NEWOBJ_EX arguments are not a tuple"); Push(Call(Pop(), args)); break; }
                case (byte)'b': { var state = Pop(); if (Peek() is PickleObject o) o.State = state; break; } // BUILD
                case (byte)'Q': Push(_persistentLoad(Pop())); break;                // BINPERSID
                case (byte)'P': Push(_persistentLoad(Line())); break;               // PERSID
                case (byte)'q': _memo[U8()] = Peek(); break;                        // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break; // LONG_BINPUT
                case (byte)'p': _memo[MemoIndex(Line(), at)] = Peek(); break;       // PUT
                case 0x94: _memo[_memo.Count] = Peek(); break;                      // MEMOIZE
                case (byte)'h': Push(Memo(U8(), at)); break;                        // BINGET
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at)); break; // LONG_BINGET
                case (byte)'g': Push(Memo(MemoIndex(Line(), at), at)); break;       // GET
                default: throw Bad(at, $"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    object? Call(object? callable, object?[] args) => callable switch
    {
        IPickleCallable c => c.Call(args),
        PickleGlobal g => new PickleObject(g, args),
        _ => new PickleObject(new PickleGlobal("?", callable?.GetType().Name ?? "None"), args),
    };

    static void SetItems(object? target, List<object?> items, int at)
    {
        if (items.Count % 2 != 0) throw Bad(at, "SETITEMS with an odd number of items");
        if (target is Dictionary<object, object?> d)
            for (int i = 0; i < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
        else if (target is PickleObject o)
        {   // e.g. an unknown dict subclass: keep the items as its state
            var s = o.State as Dictionary<object, object?> ?? new Dictionary<object, object?>();
            for (int i = 0; i < items.Count; i += 2) s[Key(items[i])] = items[i + 1];
            o.State = s;
        }
        else throw Bad(at, "SETITEM(S) on something that is not a dict");
    }

    static object Key(object? k) => k switch
    {
        null => "None",
        object?[] t => "(" + string.Join(", ", t.Select(x => x?.ToString() ?? "None")) + ")",
        _ => k,
    };

    static List<object?> AsList(object? o, int at) => o as List<object?> ?? throw Bad(at, "APPEND(S) on something that is not a list");

    object? Memo(long i, int at) => _memo.TryGetValue(i, out var v) ? v : throw Bad(at, $"memo key {i} is missing");

    static long MemoIndex(string s, int at) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long i) ? i : throw Bad(at, $"memo index \"{Clip(s)}\" is not a number");

    void Push(object? o) => _stack.Add(o);
    object? Peek() => _stack.Count > 0 && (_marks.Count == 0 || _stack.Count > _marks.Peek()) ? _stack[^1] : throw Bad(_p, "stack underflow");
    object? Pop()
    {
        var o = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }
    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad(_p, "no MARK on the stack");
        int from = _marks.Pop();
        var items = _stack.GetRange(from, _stack.Count - from);
        _stack.RemoveRange(from, _stack.Count - from);
        return items;
    }

    byte U8() => _p < _b.Length ? _b[_p++] : throw Bad(_p, "unexpected end of data");

    /// <summary>A length read from the file, checked against the bytes left before anything is allocated.</summary>
    int Len(long n, string op)
    {
        if (n < 0 || n > _b.Length - _p) throw Bad(_p, $"{op} length {n} exceeds the {_b.Length - _p} bytes left");
        return (int)n;
    }
    int Len(ulong n, string op) => Len(n > long.MaxValue ? -1 : (long)n, op);

    ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _p + (long)n > _b.Length) throw Bad(_p, "unexpected end of data");
        var s = _b.AsSpan(_p, n);
        _p += n;
        return s;
    }
    string Utf8(int n, int at)
    {
        try { return StrictUtf8.GetString(Take(n)); }
        catch (DecoderFallbackException) { throw Bad(at, "a string is not valid UTF-8"); }
    }
    string Latin1(int n) => Encoding.Latin1.GetString(Take(n));
    string Line()
    {
        int end = Array.IndexOf(_b, (byte)'\n', _p);
        if (end < 0) throw Bad(_p, "unexpected end of data");
        string s = Encoding.ASCII.GetString(_b, _p, end - _p);
        _p = end + 1;
        return s;
    }

    static object IntLine(string s, int at) => s switch { "00" => false, "01" => true, _ => LongText(s, at, "INT") };

    static object LongText(string s, int at, string op)
    {
        s = s.Trim();
        if (s.Length > MaxIntDigits) throw Bad(at, $"{op} holds an integer of {s.Length} digits (at most {MaxIntDigits})");
        if (!BigInteger.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            throw Bad(at, $"{op} holds \"{Clip(s)}\", not an integer");
        return Narrow(v);
    }

    static double FloatText(string s, int at)
    {
        s = s.Trim();
        if (s is "inf" or "+inf") return double.PositiveInfinity;
        if (s == "-inf") return double.NegativeInfinity;
        if (s is "nan" or "-nan") return double.NaN;
        return s.Length <= 64 && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d : throw Bad(at, $"FLOAT holds \"{Clip(s)}\", not a number");
    }

    static object Long(ReadOnlySpan<byte> le) => Narrow(new BigInteger(le, isUnsigned: false, isBigEndian: false));

    /// <summary>A long when the value fits one (torch.load's ints), else the BigInteger.</summary>
    static object Narrow(BigInteger v) => v >= long.MinValue && v <= long.MaxValue ? (object)(long)v : v;

    static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    static InvalidDataException Bad(int at, string what) => new($"corrupt pickle at byte {at}: {what}");

    /// <summary>
    /// Rejects a result that contains itself or nests deeper than <see cref="MaxDepth"/>. Iterative, each object visited
    /// once (shared objects are not walked again), so a DAG costs its size.
    /// </summary>
    static void CheckGraph(object? root)
    {
        var height = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);   // finished: longest chain below
        var onPath = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var stack = new List<(object node, List<object> children, int next, int height)>();
        void Enter(object node)
        {
            if (onPath.Count >= MaxDepth) throw new InvalidDataException($"corrupt pickle: objects nested deeper than {MaxDepth} levels");
            onPath.Add(node);
            stack.Add((node, Children(node), 0, 0));
        }
        if (root == null || !IsContainer(root)) return;
        Enter(root);
        while (stack.Count > 0)
        {
            var (node, children, next, h) = stack[^1];
            if (next == children.Count)
            {
                stack.RemoveAt(stack.Count - 1);
                onPath.Remove(node);
                height[node] = h;
                if (stack.Count > 0) { var top = stack[^1]; stack[^1] = top with { height = Math.Max(top.height, h + 1) }; }
                continue;
            }
            stack[^1] = (node, children, next + 1, h);
            var child = children[next];
            if (onPath.Contains(child))
                throw new InvalidDataException("corrupt pickle: an object contains itself (a reference cycle), which no state dict does");
            if (height.TryGetValue(child, out int ch))
            {
                if (onPath.Count + ch >= MaxDepth) throw new InvalidDataException($"corrupt pickle: objects nested deeper than {MaxDepth} levels");
                stack[^1] = (node, children, next + 1, Math.Max(h, ch + 1));
                continue;
            }
            Enter(child);
        }
    }

    static bool IsContainer(object o) => o is List<object?> or object?[] or Dictionary<object, object?> or HashSet<object?> or PickleObject;

    static List<object> Children(object node)
    {
        IEnumerable<object?> items = node switch
        {
            List<object?> l => l,
            object?[] t => t,
            Dictionary<object, object?> d => d.Keys.Concat(d.Values),
            HashSet<object?> s => s,
            PickleObject o => o.Args.Append(o.State),
            _ => [],
        };
        return items.Where(x => x != null && IsContainer(x)).Select(x => x!).ToList();
    }
}
