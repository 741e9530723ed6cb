#!/usr/bin/env python3
"""Times the linear-layer shapes of `mvar bench gemm --json` with the torch the official code runs on.

usage: LD_PRELOAD=/tmp/ref_fastblas/libsgemm_dnnl.so /usr/bin/python3 bench/official_gemm.py MVAR.json OUT.json
(the official harness's dnnl mode: Debian's torch 1.13 with sgemm routed to oneDNN; without LD_PRELOAD it times
Debian's reference BLAS). Same protocol as Mvar's: F.linear with bias on random values, one warm-up, best of N.
"""
import json, os, sys, time

import torch
import torch.nn.functional as F


def main(src, out, repeats=5):
    torch.set_num_threads(2)
    mine = json.load(open(src))
    rows = []
    for s in mine["shapes"]:
        x = torch.randn(s["rows"], s["in"])
        w = torch.randn(s["out"], s["in"]) / s["in"] ** 0.5
        b = torch.zeros(s["out"])
        F.linear(x, w, b)
        best = min(_timed(lambda: F.linear(x, w, b)) for _ in range(repeats))
        flops = 2.0 * s["rows"] * s["in"] * s["out"]
        rows.append(dict(layer=s["layer"], scale=s["scale"], rows=s["rows"], **{"in": s["in"]}, out=s["out"], per_image=s["per_image"],
                         seconds=best, gflop_per_second=flops / best / 1e9, seconds_per_image=best * s["per_image"] / mine["batch"]))
    total = sum(r["seconds_per_image"] for r in rows)
    res = dict(torch=torch.__version__, threads=torch.get_num_threads(), ld_preload=os.environ.get("LD_PRELOAD", ""),
               batch=mine["batch"], guided=mine["guided"], seconds_per_image=total, gflops_per_image=mine["gflops_per_image"], shapes=rows)
    with open(out + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
    os.replace(out + ".tmp", out)
    print(f"sum per image: {total:.3f} s for {mine['gflops_per_image']:.1f} GFLOP = {mine['gflops_per_image'] / total:.1f} GFLOP/s (torch {torch.__version__})")


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
