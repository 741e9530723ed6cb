using System.Buffers.Binary;
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
/// A small, safe unpickler (protocols 0-5). It builds plain .NET values: null, bool, long, BigInteger, double, string,
/// byte[], <see cref="List{T}"/> (list), object?[] (tuple), <see cref="Dictionary{TKey,TValue}"/> (dict, insertion-ordered),
/// <see cref="HashSet{T}"/> (set). Globals are never imported: the resolver may map a trusted name to an
/// <see cref="IPickleCallable"/> or any value; everything else becomes a <see cref="PickleGlobal"/>, and calling it
/// gives an inert <see cref="PickleObject"/>. Nothing in a file can run code.
/// </summary>
public sealed class PickleReader
{
    readonly byte[] _b;
    int _p;
    readonly Func<string, string, object?> _resolveGlobal;
    readonly Func<object?, object?> _persistentLoad;
    readonly List<object?> _stack = new();
    readonly Stack<List<object?>> _marks = new();
    readonly Dictionary<long, object?> _memo = new();

    public PickleReader(byte[] data, Func<string, string, object?>? resolveGlobal = null, Func<object?, object?>? persistentLoad = null)
    {
        _b = data;
        _resolveGlobal = resolveGlobal ?? ((m, n) => new PickleGlobal(m, n));
        _persistentLoad = persistentLoad ?? (pid => throw new InvalidDataException("pickle uses persistent ids but no loader was given"));
    }

    public object? Load()
    {
        while (true)
        {
            int at = _p;
            byte op = U8();
            switch (op)
            {
                case 0x80: U8(); break;                                             // PROTO
                case 0x95: _p += 8; break;                                          // FRAME
                case (byte)'.': return Pop();                                       // STOP
                case (byte)'(': _marks.Push(new List<object?>(_stack)); _stack.Clear(); break; // MARK
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
                case 0x8b: Push(Long(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))))); break; // LONG4
                case (byte)'I': Push(IntLine(Line())); break;                       // INT
                case (byte)'L': Push(Long(Line().TrimEnd('L'))); break;             // LONG (text)
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case (byte)'F': Push(double.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture)); break;
                case (byte)'X': Push(Utf8(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))); break; // BINUNICODE
                case 0x8c: Push(Utf8(U8())); break;                                 // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8))))); break; // BINUNICODE8
                case (byte)'V': Push(Line()); break;                                // UNICODE (raw-unicode-escape; ASCII here)
                case (byte)'T': Push(Latin1(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))); break; // BINSTRING
                case (byte)'U': Push(Latin1(U8())); break;                          // SHORT_BINSTRING
                case (byte)'S': Push(Line().Trim('\'', '"')); break;                // STRING
                case (byte)'B': Push(Take(checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Take(U8()).ToArray()); break;                  // SHORT_BINBYTES
                case 0x8e: Push(Take(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8)))).ToArray()); break; // BINBYTES8
                case 0x96: Push(Take(checked((int)BinaryPrimitives.ReadInt64LittleEndian(Take(8)))).ToArray()); break; // BYTEARRAY8
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
                case 0x93: { var n = Pop() as string; var m = Pop() as string;     // STACK_GLOBAL
                             if (m == null || n == null) throw Bad(at, "STACK_GLOBAL without string names");
                             Push(_resolveGlobal(m, n)); break; }
                case (byte)'R': { var args = Pop() as object?[] ?? throw Bad(at, "REDUCE arguments are not a tuple"); Push(Call(Pop(), args)); break; } // REDUCE
                case 0x81: { var args = Pop() as object?[] ?? throw Bad(at, "NEWOBJ arguments are not a tuple"); Push(Call(Pop(), args)); break; } // NEWOBJ
                case 0x92: { Pop(); var args = Pop() as object?[] ?? throw Bad(at, "NEWOBJ_EX arguments are not a tuple"); Push(Call(Pop(), args)); break; }
                case (byte)'b': { var state = Pop(); if (Peek() is PickleObject o) o.State = state; break; } // BUILD
                case (byte)'Q': Push(_persistentLoad(Pop())); break;                // BINPERSID
                case (byte)'P': Push(_persistentLoad(Line())); break;               // PERSID
                case (byte)'q': _memo[U8()] = Peek(); break;                        // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break; // LONG_BINPUT
                case (byte)'p': _memo[long.Parse(Line())] = Peek(); break;          // PUT
                case 0x94: _memo[_memo.Count] = Peek(); break;                      // MEMOIZE
                case (byte)'h': Push(Memo(U8(), at)); break;                        // BINGET
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at)); break; // LONG_BINGET
                case (byte)'g': Push(Memo(long.Parse(Line()), at)); break;          // GET
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

    void Push(object? o) => _stack.Add(o);
    object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Bad(_p, "stack underflow");
    object? Pop()
    {
        if (_stack.Count == 0) throw Bad(_p, "stack underflow");
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }
    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad(_p, "no MARK on the stack");
        var items = new List<object?>(_stack);
        _stack.Clear();
        _stack.AddRange(_marks.Pop());
        return items;
    }

    byte U8() => _p < _b.Length ? _b[_p++] : throw Bad(_p, "unexpected end of data");
    ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _p + (long)n > _b.Length) throw Bad(_p, "unexpected end of data");
        var s = _b.AsSpan(_p, n);
        _p += n;
        return s;
    }
    string Utf8(int n) => Encoding.UTF8.GetString(Take(n));
    string Latin1(int n) => Encoding.Latin1.GetString(Take(n));
    string Line()
    {
        int end = Array.IndexOf(_b, (byte)'\n', _p);
        if (end < 0) throw Bad(_p, "unexpected end of data");
        string s = Encoding.ASCII.GetString(_b, _p, end - _p);
        _p = end + 1;
        return s;
    }
    static object IntLine(string s) => s switch { "00" => false, "01" => true, _ => long.Parse(s) };
    static object Long(string s) => BigInteger.Parse(s) is var v && v >= long.MinValue && v <= long.MaxValue ? (long)v : v;
    static object Long(ReadOnlySpan<byte> le)
    {
        var v = new BigInteger(le, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (long)v : v;
    }

    static InvalidDataException Bad(int at, string what) => new($"corrupt pickle at byte {at}: {what}");
}
