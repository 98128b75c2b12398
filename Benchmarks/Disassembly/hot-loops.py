#!/usr/bin/env python3
"""Shows that the kernels' hot loops are vector code at each ISA level.

Disassembles the objects of one ISA module of a release build (objdump), finds every loop
(a backward branch inside a function) in the specialised kernel passes, and prints per loop
its instruction count, how many instructions touch zmm / ymm / xmm registers, how many are
FMAs, and whether it calls anything. With --check it fails (exit 1) unless, at x86-64-v4,
every Float pass the kernel catalog names (`softmax-bench --catalog`), and every variant of it
found for the 16-bit storage types (Float16, BFloat16, read and written as such or written as
Float), has a loop that is zmm code with no call, the exponential passes' loops contain FMAs,
and every variant of a pass that streams its output has a loop with a non-temporal store.

Usage: swift build -c release && python3 Benchmarks/Disassembly/hot-loops.py [--level v4|v3|baseline] [--check] [--verbose]
"""
import argparse, collections, json, os, re, subprocess, sys

def catalog_passes(build):
    """The passes to check, from the package's kernel catalog (`softmax-bench --catalog`, built
    in the same release build): every pass a kernel names, and which of them evaluate an
    exponential (their hot loop must contain FMAs)."""
    bench = os.path.join(build, "softmax-bench")
    out = subprocess.run([bench, "--catalog"], capture_output=True, text=True, check=True).stdout
    passes, exp_passes = [], set()
    for kernel in json.loads(out):
        for p in kernel["passes"]:
            if p not in passes: passes.append(p)
        exp_passes |= set(kernel["exponentialPasses"])
    return passes, exp_passes

# Passes that are not exponentials but whose hot loop must be FMAs too (matrix products).
FMA_PASSES = {"broadcastTile"}
# Passes that write their output with streaming stores when asked: at x86-64-v4 and v3 each of their
# variants (every storage type) must have a loop with a non-temporal store (`vmovnt*`). (LLVM
# once folded the BFloat16 narrowing into a `vpmovdw` to memory and dropped the hint.)
STREAM_PASSES = {"scalePass", "scaleCopyPass", "expScalePass", "expScalePrefetchPass", "logSoftmaxPass", "extendedScalePass",
                 "crossEntropyGradientStreamPass", "storeExpGradientPass"}
# Passes compiled for Float only (not generic): no Double variant to look for.
FLOAT_ONLY_PASSES = {"broadcastTile", "packPanels", "logitTile", "linearForwardBlock", "linearBackwardTile"}

MERGED = "(merged)"

SHORT = {"Swift.Float": "Float", "Swift.Double": "Double", "Swift.Float16": "Float16",
         "SoftmaxKernelsCore.BFloat16": "BFloat16"}

def storage_label(fname):
    """The types a specialised pass reads and writes: "Float", "Double", or for the 16-bit
    storage types "BFloat16" (read and written as BFloat16) / "BFloat16>Float" (read as
    BFloat16, written as Float). None for other functions. A pass generic over its storage has
    its arithmetic type first (`<Swift.Float, SoftmaxKernelsCore.BFloat16, Swift.Float>`)."""
    m = re.match(r"(?:function signature specialization <[^<>]*> of )?(?:merged )?(?:generic )?"
                 r"specialization <", fname)
    if not m: return None
    # The top-level generic arguments; a generic one (a pass's companion body, e.g.
    # `GradientCompanion<...>` of storeExpGradientPass) is not a storage type and is skipped.
    args, depth, start, i = [], 0, m.end(), m.end()
    while i < len(fname):
        c = fname[i]
        if c == "<": depth += 1
        elif c == ">" and depth == 0: args.append(fname[start:i]); break
        elif c == ">": depth -= 1
        elif c == "," and depth == 0: args.append(fname[start:i]); start = i + 1
        i += 1
    else:
        return None
    if not fname[i:].startswith("> of "): return None
    types = [SHORT.get(t.strip()) for t in args if "<" not in t]
    if not types or None in types: return None
    if len(set(types)) == 1: return types[0]
    storage = types[1:] if types[0] in ("Float", "Double") and len(types) > 1 else types
    distinct = list(dict.fromkeys(storage))
    return ">".join(distinct) if len(distinct) > 1 else distinct[0]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--level", default="v4", choices=["v4", "v3", "baseline"])
    ap.add_argument("--build", default=".build/release")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    PASSES, EXP_PASSES = catalog_passes(a.build)
    module = {"v4": "SoftmaxKernelsX86_64_V4", "v3": "SoftmaxKernelsX86_64_V3",
              "baseline": "SoftmaxKernelsBaseline"}[a.level]
    objdir = os.path.join(a.build, module + ".build")
    objs = sorted(os.path.join(objdir, f) for f in os.listdir(objdir) if f.endswith(".o"))
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", *objs], capture_output=True,
                          text=True, check=True).stdout
    text = subprocess.run(["swift", "demangle", "--compact"], input=text, capture_output=True,
                          text=True, check=True).stdout
    functions = collections.OrderedDict()
    name = None
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            name = m.group(2); functions[name] = []; continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m and name is not None:
            functions[name].append((int(m.group(1), 16), m.group(2), m.group(3)))
    found = collections.defaultdict(list)  # (pass, type) -> loops
    for fname, insns in functions.items():
        scalar = storage_label(fname)
        if scalar is None:
            # The Float-only kernels (linear cross-entropy) are not generic: a function of the
            # module named as a pass, or a closure inside one, is its Float variant.
            m = re.search(r"\b" + module + r"\.(\w+)\(", fname)
            if not m or m.group(1) not in PASSES or "specialization" in fname: continue
            scalar, passes = "Float", [m.group(1)]
        else:
            passes = [p for p in PASSES if re.search(r"\b" + p + r"<", fname)]
        if not passes: continue
        p = passes[0]
        addrs = [i[0] for i in insns]
        for idx, (addr, op, args) in enumerate(insns):
            if not op.startswith("j"): continue
            t = re.match(r"([0-9a-f]+)\s", args + " ")
            if not t: continue
            target = int(t.group(1), 16)
            if target >= addr or target < addrs[0]: continue
            body = [i for i in insns if target <= i[0] <= addr]
            stats = collections.Counter()
            for _, o, g in body:
                stats["insns"] += 1
                if "zmm" in g: stats["zmm"] += 1
                if "ymm" in g: stats["ymm"] += 1
                if "xmm" in g: stats["xmm"] += 1
                if o.startswith(("vfmadd", "vfmsub", "vfnmadd", "vfnmsub")): stats["fma"] += 1
                if o.startswith("call"): stats["call"] += 1
                if o.startswith("vmovnt"): stats["nt"] += 1
            found[(p, scalar)].append((stats, body))
            # LLVM merges identical specialisations (the BFloat16 and Float16 variants of a
            # closure that reads no 16-bit value) into one, named after one of the types: its
            # loops count for every 16-bit variant of the pass.
            if "merged generic specialization" in fname and scalar not in ("Float", "Double"):
                found[(p, MERGED)].append((stats, body))
    ok = True
    print(f"{'pass':<24} {'type':<15} {'loop':>4} {'insns':>6} {'zmm':>5} {'ymm':>5} {'xmm':>5} {'fma':>5} {'calls':>5}")
    labels = ["Float", "Double"] + sorted({t for (_, t) in found} - {"Float", "Double", MERGED})
    for p in PASSES:
        for scalar in labels:
            loops = found.get((p, scalar), [])
            if scalar not in ("Float", "Double") and loops:
                loops = loops + [l for l in found.get((p, MERGED), []) if l not in loops]
            if not loops:
                if scalar == "Double" and p in FLOAT_ONLY_PASSES: continue
                if scalar in ("Float", "Double"):
                    print(f"{p:<24} {scalar:<15}  (no loop found)")
                if scalar == "Float": ok = False
                continue
            # The hot loop: the largest vector loop without calls.
            best = None
            for k, (s, body) in enumerate(loops):
                print(f"{p:<24} {scalar:<15} {k:>4} {s['insns']:>6} {s['zmm']:>5} {s['ymm']:>5} {s['xmm']:>5} {s['fma']:>5} {s['call']:>5}")
                if a.verbose:
                    for addr, o, g in body: print(f"        {addr:8x}: {o} {g}")
                # For a pass that must use FMA, its hot loop is the largest call-free zmm loop
                # with FMAs (a function of several loops, e.g. linearForwardBlock, also has
                # zmm loops without: the max and the gap sums).
                needs_fma = p in EXP_PASSES or p in FMA_PASSES
                if s["call"] == 0 and s["zmm"] > 0 and (s["fma"] > 0 or not needs_fma) \
                        and (best is None or s["zmm"] > best["zmm"]):
                    best = s
            if a.check and a.level in ("v4", "v3") and p in STREAM_PASSES and not any(s["nt"] for s, _ in loops):
                print(f"  FAIL: {p} ({scalar}) has no loop with a non-temporal store")
                ok = False
            if a.check and a.level == "v4" and scalar != "Double":
                if best is None or ((p in EXP_PASSES or p in FMA_PASSES) and best["fma"] == 0):
                    print(f"  FAIL: {p} has no call-free zmm loop" + (" with FMA" if p in EXP_PASSES else ""))
                    ok = False
    if a.check:
        print("hot-loop check:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
