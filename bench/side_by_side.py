#!/usr/bin/env python3
"""The table of bench/side-by-side.sh: official and Mvar per kind and round, and their ratio (official / Mvar).

usage: python3 bench/side_by_side.py OUTDIR   (reads OUTDIR/{official,mvar}-KIND-rN.json and OUTDIR/lscpu.txt)
Only figures of the same run are put side by side; a missing side is written as such, never filled in.
"""
import glob, json, os, re, sys

FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def machine(out):
    path = os.path.join(out, "lscpu.txt")
    fields = dict(l.split(":", 1) for l in open(path).read().splitlines() if ":" in l) if os.path.exists(path) else {}
    get = lambda k: fields.get(k, "?").strip()
    have = [f for f in FLAGS if f in get("Flags").split()]
    return f"{get('Model name')}, family {get('CPU family')} model {get('Model')}, flags: {' '.join(have) or 'none of ' + ' '.join(FLAGS)}"


def official_sample(d):
    r = next((x for x in d.get("results", []) if "total_median_s" in x), None) if d else None
    return None if r is None else (r["total_median_s"], r["transformer_median_s"], r["decode_median_s"], r.get("peak_rss_MB"))


def mvar_sample(d):
    return None if d is None else (d["seconds_per_image"], d["transformer_seconds"], d["decode_seconds"], d.get("peak_rss_mb"))


def official_train(d, kind):
    rs = [x for x in (d or {}).get("results", []) if "step_median_s" in x]
    if not rs:
        return None
    if kind == "var_train":
        return [("all 680 tokens", rs[0]["step_median_s"], rs[0].get("peak_rss_MB"))]
    return [(f"group {x['kind'][-1]} ({x['tokens_per_sample']} tokens)", x["step_median_s"], x.get("peak_rss_MB")) for x in rs]


def mvar_train(d):
    if d is None:
        return None
    return [(g["label"], g["seconds_per_step"], g.get("peak_rss_mb")) for g in d["groups"]], d["seconds_per_step"]


def pair(out, kind, r):
    """The official and the Mvar result of one kind and round (None where that side did not run)."""
    return tuple(load(os.path.join(out, f"{side}-{kind}-r{r}.json")) for side in ("official", "mvar"))


def fmt(x, spec="{:.2f}"):
    return "n/a" if x is None else spec.format(x)


def main(out):
    print(f"Machine: {machine(out)}\n")
    args_path = os.path.join(out, "mvar-sample-args.txt")
    extra = open(args_path).read().strip() if os.path.exists(args_path) else ""
    if extra:
        print(f"Mvar's sampling runs with: `{extra}`\n")
    rounds = sorted({int(m.group(1)) for p in glob.glob(os.path.join(out, "*-r*.json")) for m in [re.search(r"-r(\d+)\.json$", p)] if m})
    kinds = sorted({re.sub(r"^(official|mvar)-|-r\d+\.json$", "", os.path.basename(p)) for p in glob.glob(os.path.join(out, "*-r*.json"))})
    samples = [k for k in kinds if k.endswith("_sample")]
    if samples:
        print("| kind | round | official s/image (transformer + decode) | Mvar s/image (transformer + decode) | Mvar speed-up | official / Mvar peak RSS MB |")
        print("|---|---|---|---|---|---|")
        for k in samples:
            for r in rounds:
                do, dm = pair(out, k, r)
                o, m = official_sample(do), mvar_sample(dm)
                cell = lambda v: "not run" if v is None else f"{v[0]:.2f} ({v[1]:.2f} + {v[2]:.2f})"
                ratio = f"**{o[0] / m[0]:.2f}x** (transformer {o[1] / m[1]:.2f}x, decode {o[2] / m[2]:.2f}x)" if o and m else "n/a"
                print(f"| {k} | {r} | {cell(o)} | {cell(m)} | {ratio} | {fmt(o and o[3], '{:.0f}')} / {fmt(m and m[3], '{:.0f}')} |")
        print()
    trains = [k for k in kinds if k.endswith("_train")]
    if trains:
        print("| kind | round | step | official s/step | Mvar s/step | Mvar speed | official / Mvar peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for k in trains:
            for r in rounds:
                do, dm = pair(out, k, r)
                o, m = official_train(do, k), mvar_train(dm)
                groups = m[0] if m else [(x[0], None, None) for x in (o or [])]
                for i, (label, ms, mp) in enumerate(groups):
                    os_, op = (o[i][1], o[i][2]) if o and i < len(o) else (None, None)
                    sp = f"{os_ / ms:.2f}x" if os_ and ms else "n/a"
                    print(f"| {k} | {r} | {label} | {fmt(os_)} | {fmt(ms)} | {sp} | {fmt(op, '{:.0f}')} / {fmt(mp, '{:.0f}')} |")
                if k == "mvar_train" and m and o and len(o) == len(m[0]):
                    # the official cycle: ratio_k (8) small-group steps, then each large scale once
                    w = [8] + [1] * (len(o) - 1)
                    om = sum(wi * x[1] for wi, x in zip(w, o)) / sum(w)
                    print(f"| {k} | {r} | cycle mean (8:1:1) | {om:.2f} | {m[1]:.2f} | **{om / m[1]:.2f}x** | |")
        print()
    if not any(os.path.exists(p) for p in glob.glob(os.path.join(out, "official-*.json"))):
        print("The official code was not run (no harness or no torch): Mvar's figures alone, no ratio.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "side-by-side"))
