#!/usr/bin/env python3
"""Combines the peers' JSON lines and softmax-bench's JSON into one table (stdout + Markdown).

    combine.py --peers peers.jsonl --ours ours.json [--markdown FILE] [--threads 1,2]
               [--title TEXT] [--note TEXT ...]

Rows: workload x threads. Columns: each peer's median GB/s, the best peer, ours (the
`automatic` algorithm at the best ISA level found in our JSON, and our best cell), the ratios
ours / best peer, and the bound softmax-bench measured in the same run. A missing number is
printed as "—" (a peer without the operation, a failed run, or a workload softmax-bench does
not have yet). Standard library only.

The linear cross-entropy cells L1-L4 (softmax-bench --lce, linear_ce_peer.py) get a table of
their own: seconds, GFLOP/s, % of the FMA peak softmax-bench measured, and the peak resident
memory beyond inputs and outputs, PyTorch next to ours.
"""

import argparse
import json
import os
import sys

PEERS = ["XNNPACK", "oneDNN", "ONNX Runtime", "PyTorch", "SciPy"]
WORKLOADS = {
    "W1": "softmax, 1 vector",
    "W2": "softmax rows 32K",
    "W3": "softmax rows 256K",
    "W4": "log-softmax rows 32K",
    "W5": "CE loss fwd",
    "W6": "CE fwd + grad",
}
# The 16-bit cells (logits, outputs and gradient stored as bfloat16 / float16).
for _tag in ("bf16", "f16"):
    for _w, _d in list(WORKLOADS.items())[:6]:
        WORKLOADS[f"{_w}-{_tag}"] = f"{_d}, {_tag}"
ISA_ORDER = ["baseline", "x86-64-v3", "x86-64-v4"]
DASH = "—"


def load_peers(path):
    rows = []
    if path and os.path.exists(path):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    print(f"combine: {path}:{n}: not JSON ({e}), ignored", file=sys.stderr)
    return rows


def load_ours_records(path):
    """Every record of softmax-bench's JSON: the cells (with medianGBs), the FMA peaks
    (workload "FMA peak") and the linear cross-entropy cells (workload L1-L4, with flops)."""
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"combine: {path}: unreadable ({e}); our columns stay empty", file=sys.stderr)
        return []
    return [r for r in data if isinstance(r, dict) and "workload" in r]


def load_ours(path):
    return [r for r in load_ours_records(path) if "medianGBs" in r]


LCE = {"L1": "LCE loss", "L2": "LCE loss + grads", "L3": "LCE loss, large V", "L4": "LCE loss + grads, large V"}
# The storage types of the LCE cells (softmax-bench's "type", linear_ce_peer.py's "dtype"; a
# record without one is float) and the suffix of their rows.
LCE_TYPES = {"float": "", "bfloat16": ", bf16", "float16": ", f16"}


def lce_type(r):
    """A linear cross-entropy record's storage type: float, bfloat16 or float16."""
    t = r.get("type") or r.get("dtype") or "float"
    return "float" if t == "float32" else t


def fmt_mib(v):
    return DASH if v is None else f"{v / 2**20:.0f}"


def build_lce(peers, records, threads_list):
    """The linear cross-entropy table: PyTorch (linear_ce_peer.py) and ours (the best ISA level
    in our JSON), per workload, storage type and thread count."""
    torch_cells = {(r.get("workload"), lce_type(r), int(r.get("threads", 0))): r for r in peers
                   if r.get("workload") in LCE and r.get("peer") == "PyTorch"}
    mine = [r for r in records if r.get("workload") in LCE and "flops" in r]
    peaks = {int(r.get("threads", 0)): r for r in records
             if r.get("workload") == "FMA peak" and r.get("isMachinePeak")}
    if not torch_cells and not mine:
        return None
    threads = sorted({int(t) for t in threads_list} | {k[2] for k in torch_cells}
                     | {int(r.get("threads", 0)) for r in mine})
    present = {k[1] for k in torch_cells} | {lce_type(r) for r in mine}
    types = [t for t in LCE_TYPES if t in present] + sorted(present - set(LCE_TYPES))
    header = ["workload", "thr", "N x D, V", "PyTorch s", "GFLOP/s", "% peak", "extra MiB",
              "ours s", "GFLOP/s (useful)", "% peak", "extra MiB", "ours isa",
              "PyTorch s / ours s", "check PyTorch / ours"]
    table = []
    for w, ty, t in ((w, ty, t) for w in LCE for ty in types for t in threads):
        p = torch_cells.get((w, ty, t))
        candidates = [r for r in mine
                      if r["workload"] == w and lce_type(r) == ty and int(r.get("threads", 0)) == t]
        best_isa = max((r.get("isa", "") for r in candidates), key=isa_rank, default=None)
        o = next((r for r in candidates if r.get("isa") == best_isa), None)
        if p is None and o is None:
            continue
        ref = o or p
        label = f"{w} {LCE[w]}{LCE_TYPES.get(ty, ', ' + ty)}"
        row = [label, str(t), f"{ref.get('rows')} x {ref.get('dim')}, {ref.get('vocab')}"]
        peak = peaks.get(t, {}).get("peakGFLOPs")
        if p is None:
            row += [DASH] * 4
        elif p.get("skipped"):
            row += [f"not run: would need {p.get('wouldNeedBytes', 0) / 2**30:.1f} GiB", DASH, DASH, DASH]
        else:
            row += [fmt(p.get("medianSeconds"), 3), fmt(p.get("medianGFLOPs"), 1),
                    f"{100 * p['medianGFLOPs'] / peak:.0f}%" if peak and p.get("medianGFLOPs") else DASH,
                    fmt_mib(p.get("peakExtraBytes"))]
        if o is None:
            row += [DASH] * 5
        elif o.get("skipped"):
            row += [f"not run: {o['skipped']}", DASH, DASH, DASH, o.get("isa", DASH)]
        else:
            gf = fmt(o.get("medianGFLOPs"), 1)
            if o.get("usefulGFLOPs") is not None and o.get("usefulFlops") != o.get("flops"):
                gf += f" ({fmt(o.get('usefulGFLOPs'), 1)})"
            extra = fmt_mib(o.get("peakExtraBytes"))
            if o.get("peakExtraIsUpperBound"):
                extra = "< " + extra
            row += [fmt(o.get("medianSeconds"), 3), gf,
                    f"{o['percentOfPeak']:.0f}%" if o.get("percentOfPeak") is not None else DASH,
                    extra, o.get("isa", DASH)]
        ps, os_ = (p or {}).get("medianSeconds"), (o or {}).get("medianSeconds")
        row.append(f"{ps / os_:.2f}x" if ps and os_ else DASH)
        row.append(f"{fmt_check((p or {}).get('check'))} / {fmt_check((o or {}).get('check'))}")
        table.append(row)
    peak_note = ", ".join(f"{t}t {r['peakGFLOPs']:.1f} ({r.get('variant')})" for t, r in sorted(peaks.items()))
    legend = ("Linear cross-entropy (loss of E C^T + bias, mean; PyTorch: F.linear + F.cross_entropy, "
              "forward under inference_mode, gradients by loss.backward(), materialising the N x V logits; "
              "ours: LinearCrossEntropy, tile by tile without them). Median seconds of the timed calls. "
              "GFLOP/s: PyTorch 2NVD forward, 6NVD with gradients; ours the flops it computes, 2NVD, 8NVD "
              "with gradients (the logits are recomputed), in parentheses 6NVD as PyTorch's. "
              f"% peak: of the FMA peak softmax-bench measured ({peak_note or 'not in our JSON'}). "
              "extra MiB: peak resident memory beyond inputs and outputs, each cell in a fresh process "
              "(VmHWM - VmRSS before the first call). 'not run': PyTorch's estimated peak exceeds 60% of "
              "MemTotal. Check: largest relative error of sampled outputs against float64.")
    if any(ty != "float" for ty in types):
        legend += (" bf16 / f16 rows: E, C, bias and the gradients stored in bfloat16 / float16 (the float "
                   "rows' values rounded); PyTorch computes its logits, loss and gradients in that dtype; "
                   "ours reads the inputs exactly as float and writes the losses in float. Checks against "
                   "float64 of the rounded inputs; a 16-bit gradient entry's error less half an ulp of the "
                   "type (its rounding). % peak stays against the float32 FMA peak: a bf16 matrix product "
                   "with AVX512-BF16 (vdpbf16ps, as oneDNN's in PyTorch) can exceed it.")
    return header, table, legend


def isa_rank(name):
    return ISA_ORDER.index(name) if name in ISA_ORDER else -1


def fmt(v, digits=2):
    if v is None or v != v:  # None or NaN
        return DASH
    return f"{v:.{digits}f}"


def fmt_check(v):
    if v is None:
        return DASH
    if v != v:
        return "NaN"  # a NaN output: the check failed
    return f"{v:.1e}"


def pick_auto(cells, best_isa):
    """Our `automatic` cell at the best ISA level; for a workload without algorithm choice
    (softmax-bench writes algorithm "-" for W5/W6), its fastest cell at that level."""
    at_isa = [r for r in cells if r.get("isa") == best_isa]
    auto = next((r for r in at_isa if r.get("algorithm") == "automatic"), None)
    if auto is None and not any(r.get("algorithm") == "automatic" for r in cells):
        auto = max(at_isa, key=lambda r: r["medianGBs"], default=None)
    return auto


def cell_label(r):
    algorithm = r.get("algorithm")
    return f"{algorithm} {r.get('isa')}" if algorithm and algorithm != "-" else str(r.get("isa"))


def build(peers, ours, threads_list, only=None):
    # Peer medians: (peer, workload, threads) -> record (the last one wins if repeated).
    peer_cells = {}
    for r in peers:
        peer_cells[(r.get("peer"), r.get("workload"), int(r.get("threads", 0)))] = r
    present_peers = [p for p in PEERS if any(k[0] == p for k in peer_cells)]
    present_peers += sorted({k[0] for k in peer_cells} - set(PEERS) - {None})

    best_isa = max((r.get("isa", "") for r in ours), key=isa_rank, default=None)
    threads = sorted({int(t) for t in threads_list} | {k[2] for k in peer_cells}
                     | {int(r.get("threads", 0)) for r in ours})
    threads = [t for t in threads if t > 0]
    workloads = list(WORKLOADS) + sorted({k[1] for k in peer_cells if k[1] not in WORKLOADS} - {None})
    others = sorted({r["workload"] for r in ours if r["workload"] not in workloads})
    if only:
        workloads = [w for w in workloads if w in only]

    header = ["workload", "thr"] + present_peers + [
        "best peer", f"ours auto ({best_isa or DASH})", "ours best cell",
        "auto / best peer", "best cell / best peer", "bound (ours)"]
    table = []
    for w in workloads:
        for t in threads:
            row = [f"{w} {WORKLOADS.get(w, '')}".strip(), str(t)]
            best_peer, best_peer_name = None, None
            for p in present_peers:
                r = peer_cells.get((p, w, t))
                v = r.get("medianGBs") if r else None
                row.append(fmt(v))
                if v is not None and (best_peer is None or v > best_peer):
                    best_peer, best_peer_name = v, p
            mine = [r for r in ours if r["workload"] == w and int(r.get("threads", 0)) == t]
            auto = pick_auto(mine, best_isa)
            best = max(mine, key=lambda r: r["medianGBs"], default=None)
            bound = next((r.get("boundGBs") for r in mine if r.get("boundGBs") is not None), None)
            row.append(f"{fmt(best_peer)} {best_peer_name}" if best_peer is not None else DASH)
            row.append(fmt(auto["medianGBs"]) if auto else DASH)
            row.append(f"{fmt(best['medianGBs'])} ({cell_label(best)})" if best else DASH)
            row.append(f"{auto['medianGBs'] / best_peer:.2f}x" if auto and best_peer else DASH)
            row.append(f"{best['medianGBs'] / best_peer:.2f}x" if best and best_peer else DASH)
            row.append(f"{fmt(bound)} {best.get('bound', '')}".strip() if bound is not None and best else DASH)
            table.append(row)

    # Output checks, first thread count: what each implementation's output satisfies.
    t0 = threads[0] if threads else 1
    check_header = ["workload", "check"] + present_peers + [f"ours auto ({best_isa or DASH})"]
    checks = []
    for w in workloads:
        kinds = {peer_cells[(p, w, t0)].get("checkKind") for p in present_peers if (p, w, t0) in peer_cells}
        auto = pick_auto([r for r in ours if r["workload"] == w and int(r.get("threads", 0)) == t0], best_isa)
        if not kinds and not auto:
            continue
        row = [w, " / ".join(sorted(k for k in kinds if k)) or "max|row sum-1|"]
        for p in present_peers:
            r = peer_cells.get((p, w, t0))
            row.append(fmt_check(r.get("check")) if r else DASH)
        row.append(fmt_check(auto.get("maxRowSumError")) if auto else DASH)
        checks.append(row)

    versions = {}
    for r in peers:
        version, impls = versions.setdefault(r.get("peer"), (r.get("version"), []))
        if r.get("impl") and r.get("impl") not in impls:
            impls.append(r.get("impl"))
    return header, table, check_header, checks, versions, t0, others


def text_table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    line = lambda cells: "  ".join(str(c).ljust(w) if i < 1 else str(c).rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def md_table(header, rows, left=1):
    cell = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(cell(h) for h in header) + " |",
           "|" + "|".join(["---"] * left + ["---:"] * (len(header) - left)) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", required=True, help="JSON lines written by the peer programs")
    ap.add_argument("--ours", help="softmax-bench --json output (may be missing)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--workloads", help="only these rows, comma separated (default: all)")
    ap.add_argument("--markdown", help="also write the tables as Markdown to this file")
    ap.add_argument("--title", default="Peers comparison")
    ap.add_argument("--note", action="append", default=[], help="a line printed above the table")
    a = ap.parse_args()

    all_peers = load_peers(a.peers)
    peers = [r for r in all_peers if r.get("workload") not in LCE]
    records = load_ours_records(a.ours)
    ours = [r for r in records if "medianGBs" in r]
    if not all_peers and not records:
        print("combine: no results at all (no peer ran and softmax-bench wrote nothing)", file=sys.stderr)
    only = [w.strip() for w in a.workloads.split(",")] if a.workloads else None
    threads_list = [t for t in a.threads.split(",") if t.strip()]
    header, table, check_header, checks, versions, t0, others = build(peers, ours, threads_list, only)
    lce = None
    if only is None or any(w in LCE for w in only):
        lce = build_lce([r for r in all_peers if r.get("workload") in LCE and (only is None or r["workload"] in only)],
                        [r for r in records if r.get("workload") not in LCE or only is None or r["workload"] in only],
                        threads_list)
    for r in all_peers:
        if r.get("workload") in LCE and r.get("impl") and not r.get("skipped"):
            version, impls = versions.setdefault(r.get("peer"), (r.get("version"), []))
            if r["impl"] not in impls:
                impls.append(r["impl"])

    legend = ("Median GB/s by shared/PERF.md's convention (8 B/element for W1-W4 and W6, 4 B for W5; "
              "half that for the 16-bit cells -bf16 / -f16); "
              f"{DASH} = no such operation, the run failed, or the workload is not in softmax-bench yet. "
              "'ours auto' = the automatic algorithm at the best ISA level in softmax-bench's JSON; "
              "'ours best cell' = the fastest of our cells (algorithm, ISA); ratios are against the "
              "fastest peer of the same row; 'bound' is the roofline softmax-bench measured in the same run.")
    legend += (" For a workload without algorithm choice (W5, W6) 'ours auto' is its cell at that ISA level."
               " Checks: the peers' as named; ours: softmax-bench's maxRowSumError field.")
    if others:
        legend += f" Not compared (no peer in PERF.md): our {', '.join(others)} cells."
    version_lines = [f"{p} {v}: {'; '.join(impls)}" for p, (v, impls) in versions.items()]

    print()
    print(a.title)
    for n in a.note:
        print(n)
    if table:
        print()
        print(text_table(header, table))
        print()
        print(legend)
    if lce:
        print()
        print(text_table(lce[0], lce[1]))
        print()
        print(lce[2])
    if checks:
        print()
        print(f"Output checks ({t0} thread{'s' if t0 != 1 else ''}; in double):")
        print(text_table(check_header, checks))
    if version_lines:
        print()
        print("Peers as run:")
        for v in version_lines:
            print(f"  {v}")

    if a.markdown:
        md = [f"### {a.title}", ""]
        md += [f"{n}  " for n in a.note]
        md += [""]
        if table:
            md += [md_table(header, table), "", legend, ""]
        if lce:
            md += [md_table(lce[0], lce[1], left=3), "", lce[2], ""]
        if checks:
            md += [f"Output checks ({t0} thread{'s' if t0 != 1 else ''}; in double):", "",
                   md_table(check_header, checks, left=2), ""]
        if version_lines:
            md += ["Peers as run:", ""] + [f"- {v}" for v in version_lines] + [""]
        with open(a.markdown, "w") as f:
            f.write("\n".join(md))
        print(f"\nMarkdown written to {a.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
