#!/usr/bin/env python3
"""Groups the symbols of bench/profile.sh's perf reports into operation types, Mvar next to the official code.

usage: python3 bench/perf_categories.py OUTDIR ARCH [--runs N --title T]   (reads OUTDIR/{mvar,official}-ARCH.report.txt and the two
*-ARCH-gemm.json). CPU seconds are perf's cpu-clock samples of the whole process (both threads, idle spinning of
OpenMP workers included), over 3 sampling runs plus building the random model once; "per run" divides by 3.
"""
import json, os, re, sys

# first match wins; patterns are searched in "dso symbol"
CATEGORIES = [
    ("GEMM (MKL / oneDNN sgemm kernels)", r"mkl_blas|sgemm|gemm_f32|_gemm|gemm_driver|jit_avx.*gemm|brgemm|gemv|dnnl_sgemm"),
    # oneDNN's JIT code without a perf map (the official side's training run): its sgemm kernels, nothing else of
    # oneDNN runs in a transformer step
    ("GEMM (MKL / oneDNN sgemm kernels)", r"\[JIT\] tid"),
    ("convolution kernels (decoder)", r"conv|jit_uni_pool|winograd|im2col|col2im"),
    ("OpenMP runtime (workers waiting, fork/join)", r"libgomp|libiomp|kmp_|__kmp|gomp_|omp_"),
    ("softmax", r"softmax"),
    ("layer / group norm", r"layer_norm|LayerNorm|group_norm|GroupNorm|batch_norm|native_layer_norm"),
    ("top-k / top-p filtering, sort, draws", r"topk|sort|Sort|cumsum|multinomial|Multinomial|Invert|radix|TopKTopP|FilterAndDraw|quickselect|nth_element"),
    ("random model build (init)", r"normal_|uniform_|erfinv|trunc|philox|mt19937|randn|random_"),
    ("element-wise, copies, reductions (aten CPU kernels)", r"vectorized|Vectorized|cpu_kernel|basic_loop|VectorizedLoop|loop_2d|copy_|_copy|unary|binary|BinaryOp|reduce|Reduce|add_kernel|mul_kernel|gelu|tanh|sigmoid|silu|where|index|cat_|stack|fill|bicubic|upsample|interpolate|clamp|pow|sqrt|exp|lerp"),
    ("memory (malloc, memset, memcpy, page faults)", r"malloc|free|memset|memcpy|memmove|mmap|munmap|\[k\] clear_page|page_fault|_int_free|_int_malloc|arena"),
    ("kernel (other)", r"\[k\]"),
    (".NET runtime and managed code", r"libcoreclr|libclrjit|System\.|Mvar\.|TorchSharp\.|\[unknown\].*perf-"),
    ("Python interpreter", r"libpython|python3"),
    ("torch dispatch and other libtorch code", r"libtorch|libc10|libLibTorchSharp"),
]


def parse(path):
    if not os.path.exists(path):
        return None
    total_ns, rows = None, []
    for line in open(path, errors="replace"):
        m = re.match(r"# Event count \(approx\.\): (\d+)", line)
        if m:
            total_ns = int(m.group(1))
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(.*)$", line)
        if m and not line.startswith("#"):
            rows.append((float(m.group(1)), m.group(2), m.group(3).strip()))
    return total_ns, rows


def categorize(rows):
    out = dict.fromkeys([name for name, _ in CATEGORIES], 0.0)
    out["other"] = 0.0
    top_other = []
    for pct, dso, sym in rows:
        key = f"{dso} {sym}"
        for name, rx in CATEGORIES:
            if re.search(rx, key):
                out[name] += pct
                break
        else:
            out["other"] += pct
            top_other.append((pct, key))
    return out, sorted(top_other, reverse=True)[:5]


def gemm(path):
    if not os.path.exists(path):
        return None
    return json.load(open(path))


def main(out, arch, runs=3, title=None):
    sides = {}
    for side in ("mvar", "official"):
        p = parse(os.path.join(out, f"{side}-{arch}.report.txt"))
        if p:
            cats, other = categorize(p[1])
            sides[side] = (p[0] / 1e9 if p[0] else float("nan"), cats, other)
    title = title or f"{arch.upper()}-d16 sampling, B=1, 3 runs + one model build"
    print(f"### {title}, perf cpu-clock samples of the whole process\n")
    names = list(dict.fromkeys(n for n, _ in CATEGORIES)) + ["other"]
    hdr = " | ".join(f"{s} % / CPU s per run" for s in sides)
    print(f"| operation type | {hdr} |")
    print("|---|" + "---|" * len(sides))
    for n in names:
        cells = []
        for s, (tot, cats, _) in sides.items():
            cells.append(f"{cats[n]:.1f} % / {cats[n] / 100 * tot / runs:.2f}")
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("| total | " + " | ".join(f"100 % / {tot / runs:.2f}" for s, (tot, _, _) in sides.items()) + " |")
    for s, (_, _, other) in sides.items():
        if other:
            print(f"\n{s}: largest uncategorised symbols: " + "; ".join(f"{p:.1f} % {k[:80]}" for p, k in other))
    gm, go = gemm(os.path.join(out, f"mvar-{arch}-gemm.json")), gemm(os.path.join(out, f"official-{arch}-gemm.json"))
    if gm:
        print(f"\n### The fp32 linear layers of sampling, shape by shape (F.linear with bias, best of 5, 2 threads)\n")
        print("| layer | rows (per scale) | Mvar GFLOP/s | official GFLOP/s | Mvar / official |")
        print("|---|---|---|---|---|")
        by = {(r["layer"], r["scale"]): r for r in (go["shapes"] if go else [])}
        layers = sorted({r["layer"] for r in gm["shapes"]}, key=["qkv", "proj", "fc1", "fc2", "head"].index)
        for layer in layers:
            mine = [r for r in gm["shapes"] if r["layer"] == layer]
            theirs = [by.get((r["layer"], r["scale"])) for r in mine]
            fm = " ".join(f"{r['gflop_per_second']:.0f}" for r in mine)
            fo = " ".join(f"{r['gflop_per_second']:.0f}" if r else "-" for r in theirs)
            ratio = (sum(r["seconds_per_image"] for r in theirs) / sum(r["seconds_per_image"] for r in mine)) if all(theirs) else float("nan")
            print(f"| {layer} ({mine[0]['in']} -> {mine[0]['out']}) | {' '.join(str(r['rows']) for r in mine)} | {fm} | {fo} | {ratio:.2f}x |")
        tail = f", official {go['seconds_per_image']:.3f} s ({go['gflops_per_image'] / go['seconds_per_image']:.0f} GFLOP/s): Mvar {go['seconds_per_image'] / gm['seconds_per_image']:.2f}x" if go else ""
        print(f"\nAll linear layers of one image: Mvar {gm['seconds_per_image']:.3f} s ({gm['gflops_per_image'] / gm['seconds_per_image']:.0f} GFLOP/s){tail}.")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("arch", nargs="?", default="mvar")
    ap.add_argument("--runs", type=int, default=3, help="runs (or steps) the CPU seconds are divided by")
    ap.add_argument("--title")
    a = ap.parse_args()
    main(a.out, a.arch, a.runs, a.title)
