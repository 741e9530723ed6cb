#!/usr/bin/env python3
"""Prints the markdown tables of bench/RESULTS.md from the JSON files of `mvar bench sample` (bench/results/*.json)."""
import json, sys, glob, os

OFFICIAL = {"var": dict(spi=9.86, tr=6.42, dec=3.45, peak=2271, load=1843, kv=170.0),
            "mvar": dict(spi=10.28, tr=5.71, dec=4.32, peak=2215, load=1843, kv=None)}

def load(name):
    p = os.path.join(os.path.dirname(__file__), "results", name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None

def row(r):
    o = OFFICIAL[r["arch"]] if r["batch"] == 1 and r["dtype"] == "float32" else None
    sp = lambda ours, off: f"{ours:.2f} ({off:.2f}, **{off / ours:.2f}x**)" if off else f"{ours:.2f}"
    return (f"| {r['arch']}-d{r['depth']} | {r['batch']} | {r['dtype']} | {sp(r['seconds_per_image'], o and o['spi'])} | "
            f"{sp(r['transformer_seconds'], o and o['tr'])} | {sp(r['decode_seconds'], o and o['dec'])} | "
            f"{r['gflops_per_image']:.1f} | {r['transformer_gflop_per_second']:.0f} / {r['gemm_peak_gflop_per_second']:.0f} = {100 * r['fraction_of_gemm_peak']:.0f}% | "
            f"{r['transformer_seconds'] / r['transformer_floor_seconds']:.2f}x | "
            f"{' '.join(f'{x:.2f}' for x in r['transformer_seconds_per_batch'])} | "
            f"{' '.join(f'{100 * x:.0f}%' for x in r['foreign_cpu_share_per_run'])} ({r['disturbed_runs_discarded']}) |")

def mem(r):
    o = OFFICIAL[r["arch"]] if r["batch"] == 1 and r["dtype"] == "float32" else None
    kv = r["kv_cache_bytes"] / 2**20
    paren = lambda key, fmt="{:.0f}": (" (" + fmt.format(o[key]) + ")") if o and o[key] else ""
    return (f"| {r['arch']}-d{r['depth']} | {r['batch']} | {r['dtype']} | {r['decode_chunk']} | {r['rss_after_load_mb']:.0f}{paren('load')} | "
            f"{r['peak_rss_mb']:.0f}{paren('peak')} | {r['transformer_peak_above_load_mb']:.0f} | {r['decode_peak_above_load_mb']:.0f} | "
            f"{kv:.1f}{paren('kv')} |")

names = sys.argv[1:] or ["mvar-d16-b1", "var-d16-b1", "mvar-d16-b16", "var-d16-b16", "mvar-d16-b1-bf16"]
rs = [r for r in map(load, names) if r]
print("| model | B | dtype | s / image (official, speed-up) | transformer s / image | decode s / image | transformer GFLOP / image | achieved / GEMM peak GFLOP/s | transformer vs fp32 floor | transformer s per batch, each run | others' CPU share per run (discarded) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rs: print(row(r))
print()
print("| model | B | dtype | decode chunk | RSS after load MB (official) | peak RSS MB (official) | transformer phase: peak above load MB | decode phase: peak above load MB | KV cache MB (official) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rs: print(mem(r))
print()
for r in rs: print(f"- {r['name']} B={r['batch']} {r['dtype']}: load average {r['load_average_start']} -> {r['load_average_end']}, {r['timestamp']}, {r['machine']}, {r['threads']} threads")
