#!/usr/bin/env python3
"""Combines the peers' JSON lines and softmax-bench's JSON into one table (stdout + Markdown).

    combine.py --peers peers.jsonl --ours ours.json [--markdown FILE] [--threads 1,2]
               [--title TEXT] [--note TEXT ...]

Rows: workload x threads. Columns: each peer's median GB/s, the best peer, ours (the
`automatic` algorithm at the best ISA level found in our JSON, and our best cell), the ratios
ours / best peer, and the bound softmax-bench measured in the same run. A missing number is
printed as "—" (a peer without the operation, a failed run, or a workload softmax-bench does
not have yet). Standard library only.
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


def load_ours(path):
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"combine: {path}: unreadable ({e}); our columns stay empty", file=sys.stderr)
        return []
    return [r for r in data if isinstance(r, dict) and "workload" in r and "medianGBs" in r]


def isa_rank(name):
    return ISA_ORDER.index(name) if name in ISA_ORDER else -1


def fmt(v, digits=2):
    if v is None or v != v:  # None or NaN
        return DASH
    return f"{v:.{digits}f}"


def fmt_check(v):
    if v is None or v != v:
        return DASH
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

    peers = load_peers(a.peers)
    ours = load_ours(a.ours)
    if not peers and not ours:
        print("combine: no results at all (no peer ran and softmax-bench wrote nothing)", file=sys.stderr)
    header, table, check_header, checks, versions, t0, others = build(
        peers, ours, [t for t in a.threads.split(",") if t.strip()],
        [w.strip() for w in a.workloads.split(",")] if a.workloads else None)

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
    print()
    print(text_table(header, table))
    print()
    print(legend)
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
        md += ["", md_table(header, table), "", legend, ""]
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
