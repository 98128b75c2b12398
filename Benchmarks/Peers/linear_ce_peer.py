#!/usr/bin/env python3
"""PyTorch peer of softmax-bench's linear cross-entropy cells L1-L4 (issue 12).

What a PyTorch model does without a fused kernel: materialise the N x V logits.

    linear_ce_peer.py --workloads L1,L2,L3,L4 --threads T [--repetitions R]
                      [--lce-rows N] [--lce-dim D] [--lce-vocab V] [--lce-big-vocab V]
                      [--dtype float32|bfloat16|float16] [--memory-fraction F]

  L1  forward:   loss = F.cross_entropy(F.linear(E, C, bias), targets)  (mean), under
                 torch.inference_mode()
  L2  + backward: E, C, bias require grad; their .grad set to None before each call (as
                 optimizer.zero_grad() does), then the same loss and loss.backward()
  L3, L4         L1, L2 with the large vocabulary (--lce-big-vocab)

Shapes as softmax-bench's: E N x D, C V x D (a Linear layer's weight), bias V, int64
targets uniform in [0, V); E uniform with standard deviation 1/sqrt(D), C with 1, bias in
[-0.1, 0.1). Defaults N 8192, D 1024, V 32768 (L1, L2) and 262144 (L3, L4).

--dtype (default float32; softmax-bench's --lce-type float, bfloat16, float16): E, C and bias
are drawn as float32 and converted to that dtype, and everything runs in it, as in a model of
that dtype: F.linear gives dtype logits, F.cross_entropy computes on them as PyTorch does for
the dtype (ATen's CPU kernels accumulate bfloat16 / float16 in float32 and round their outputs
to the dtype) and returns a dtype loss; .grad tensors are in the dtype. No loss scaling: in
float16 the logits' gradients (p - onehot) / N below 2^-25 round to 0 (the "sum dbias" check
shows it). The output lines carry "dtype".

Timing: one warm-up call, then the median and minimum of R timed calls. GFLOP/s count 2NVD
(forward) or 6NVD (forward + backward: the logits, dE = G C, dC = G^T E), what PyTorch
computes.

Memory: each cell runs in a fresh Python process (this script with --child). It imports
torch, allocates and fills the inputs (every page touched; a 16-bit dtype's float32 draws
are freed before the measurement), reads VmRSS from
/proc/self/status, resets the high-water mark VmHWM to it ("5" into /proc/self/clear_refs,
Linux 4.0 and later), makes the warm-up and timed calls and reads VmHWM. peakAboveInputsBytes
= VmHWM - that VmRSS: what the calls needed beyond the inputs (the logits, log-softmax and
gradient temporaries; with L2/L4 also the gradients .grad themselves); peakExtraBytes
subtracts the outputs (the three .grad tensors), to compare with softmax-bench's number (its
outputs are allocated before its baseline). getrusage's ru_maxrss is not used: Linux carries
it across exec, so a child reports at least its parent's size at the fork.

A cell whose estimated peak (inputs, outputs and k x sNV bytes of N x V temporaries, s the
dtype's element size: k = 2 forward, 3 forward + backward, as measured here) exceeds
--memory-fraction (0.6) of MemTotal is not run: its JSON line has "skipped" and "wouldNeedBytes".

Check: as described at lce_check, against float64 of the inputs as stored (a 16-bit dtype's
rounded values).

One JSON line per cell on stdout; messages on stderr.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

LCE = ("L1", "L2", "L3", "L4")
# Bytes of an element of each --dtype (inputs, gradients and the N x V logits).
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
# N x V temporaries of the dtype alive at once at the peak, in multiples of the logits' bytes
# (element size x N x V): forward 2 (logits + log-softmax), forward + backward 3 (saved
# log-softmax, its gradient, the logits' gradient). Measured with torch 2.13 (this script, N
# 1024, D 128, V 32768, 2 threads): peakExtraBytes float32 2.13 and 3.04 x the logits' bytes,
# bfloat16 2.12 and 3.20, float16 2.06 and 3.35 (of logits half the size), the rest one-time
# allocations (about 15 MiB).
TEMPORARIES = {False: 2.0, True: 3.0}


def log(message):
    print(f"linear_ce_peer: {message}", file=sys.stderr, flush=True)


def shape(workload, a):
    """(N, D, V, gradient) of a cell."""
    vocab = a.lce_vocab if workload in ("L1", "L2") else a.lce_big_vocab
    return a.lce_rows, a.lce_dim, vocab, workload in ("L2", "L4")


def byte_counts(n, d, v, gradient, dtype):
    """(inputs, outputs, N x V logits) in bytes: E, C, bias (in dtype) and targets (int64);
    the gradients of E, C and bias (in dtype); the logits (in dtype)."""
    size = DTYPE_BYTES[dtype]
    inputs = size * (n * d + v * d + v) + 8 * n
    outputs = size * (n * d + v * d + v) if gradient else 0
    return inputs, outputs, size * n * v


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def status():
    """VmRSS and VmHWM of this process in bytes (/proc/self/status), or None."""
    try:
        with open("/proc/self/status") as f:
            values = {}
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] in ("VmRSS:", "VmHWM:"):
                    values[parts[0][:-1]] = int(parts[1]) * 1024
        return values if len(values) == 2 else None
    except OSError:
        return None


def reset_high_water_mark():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def common_fields(workload, a, n, d, v, gradient):
    inputs, outputs, logits = byte_counts(n, d, v, gradient, a.dtype)
    return {
        "peer": "PyTorch", "workload": workload,
        "operation": "linear_cross_entropy_grad" if gradient else "linear_cross_entropy",
        "dtype": a.dtype, "threads": a.threads, "rows": n, "dim": d, "vocab": v, "repetitions": a.repetitions,
        "flops": (6 if gradient else 2) * n * v * d, "inputBytes": inputs, "outputBytes": outputs,
        "logitBytes": logits,
    }


# ----------------------------------------------------------------------------- parent

def run_parent(a):
    mem_total = meminfo("MemTotal")
    for w in a.cells:
        n, d, v, gradient = shape(w, a)
        inputs, outputs, logits = byte_counts(n, d, v, gradient, a.dtype)
        need = inputs + outputs + TEMPORARIES[gradient] * logits
        if mem_total and need > a.memory_fraction * mem_total:
            record = common_fields(w, a, n, d, v, gradient)
            record.update({
                "version": torch_version(), "impl": "F.linear + F.cross_entropy (materialised logits)",
                "skipped": f"would need {need / 2**30:.1f} GiB (inputs {inputs / 2**30:.2f}, outputs "
                           f"{outputs / 2**30:.2f}, {TEMPORARIES[gradient]:g} x N x V {a.dtype} logits of "
                           f"{logits / 2**30:.2f} GiB), more than {a.memory_fraction:.0%} of MemTotal "
                           f"{mem_total / 2**30:.1f} GiB",
                "wouldNeedBytes": int(need), "memTotalBytes": mem_total,
            })
            log(f"{w} {a.dtype} {a.threads}t not run: {record['skipped']}")
            print(json.dumps(record), flush=True)
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--child", w, "--threads", str(a.threads),
               "--repetitions", str(a.repetitions), "--lce-rows", str(a.lce_rows), "--lce-dim", str(a.lce_dim),
               "--lce-vocab", str(a.lce_vocab), "--lce-big-vocab", str(a.lce_big_vocab), "--dtype", a.dtype]
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
        lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
        if done.returncode != 0 or not lines:
            log(f"{w} {a.dtype} {a.threads}t failed (exit {done.returncode})")
            return 1
        print(lines[-1], flush=True)
    return 0


def torch_version():
    try:
        import importlib.metadata as m
        return m.version("torch")
    except Exception:                        # noqa: BLE001 - only for a skipped cell's record
        return "unknown"


# ----------------------------------------------------------------------------- child

def run_child(a):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    w = a.child
    n, d, v, gradient = shape(w, a)
    record = common_fields(w, a, n, d, v, gradient)
    after_import = status()

    # Inputs, written in place (first touch), then shared with torch (from_numpy); for a 16-bit
    # dtype converted (rounded to nearest even) and the float32 draws freed.
    dtype = getattr(torch, a.dtype)
    rng = np.random.default_rng(42)
    def uniform(shape_, half_width):
        x = np.empty(shape_, dtype=np.float32)
        rng.random(out=x, dtype=np.float32)
        x *= np.float32(2 * half_width)
        x -= np.float32(half_width)
        x = torch.from_numpy(x)
        return x if dtype == torch.float32 else x.to(dtype)
    E = uniform((n, d), math.sqrt(3.0 / d))
    C = uniform((v, d), math.sqrt(3.0))
    b = uniform((v,), 0.1)
    tn = rng.integers(0, v, size=n, dtype=np.int64)
    t = torch.from_numpy(tn)
    if gradient:
        for x in (E, C, b):
            x.requires_grad_(True)

    holder = {}
    if gradient:
        def call():
            E.grad = C.grad = b.grad = None
            loss = F.cross_entropy(F.linear(E, C, b), t)
            loss.backward()
            holder["loss"] = float(loss.detach())
    else:
        def call():
            with torch.inference_mode():
                holder["loss"] = float(F.cross_entropy(F.linear(E, C, b), t))

    before = status()
    reset = before is not None and reset_high_water_mark()
    baseline = status() if reset else before
    t0 = time.perf_counter()
    call()                                   # warm-up
    first = time.perf_counter() - t0
    times = []
    for _ in range(a.repetitions):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    after = status()

    times.sort()
    k = len(times)
    med = times[k // 2] if k % 2 else 0.5 * (times[k // 2 - 1] + times[k // 2])
    capability = torch.backends.cpu.get_cpu_capability()
    record.update({
        "version": torch.__version__,
        "impl": ("F.linear + F.cross_entropy(mean)" + (" + loss.backward()" if gradient else ", inference_mode")
                 + ("" if a.dtype == "float32" else f", {a.dtype}")
                 + f" (materialised logits; ATen CPU {capability}, MKL {torch.backends.mkl.is_available()},"
                 f" oneDNN {torch.backends.mkldnn.is_available()})"),
        "medianSeconds": round(med, 6), "bestSeconds": round(times[0], 6), "firstCallSeconds": round(first, 6),
        "medianGFLOPs": round(record["flops"] / med / 1e9, 3), "bestGFLOPs": round(record["flops"] / times[0] / 1e9, 3),
        "loss": holder["loss"],
    })
    if baseline and after:
        above = after["VmHWM"] - baseline["VmRSS"]
        upper = not reset and after["VmHWM"] <= baseline["VmHWM"]
        if upper:
            above = baseline["VmHWM"] - baseline["VmRSS"]
        record.update({
            "rssAfterImportBytes": after_import["VmRSS"] if after_import else None,
            "rssBeforeBytes": baseline["VmRSS"], "hwmAfterBytes": after["VmHWM"], "hwmReset": reset,
            "peakAboveInputsBytes": max(0, above),
            "peakExtraBytes": max(0, above - record["outputBytes"]),
            "peakExtraIsUpperBound": upper,
            "peakLogitMultiple": round(max(0, above - record["outputBytes"]) / record["logitBytes"], 3),
            "memoryMethod": "fresh process; inputs allocated and touched first; VmHWM after the warm-up and timed "
                            "calls minus VmRSS before the first call (VmHWM reset to VmRSS through "
                            "/proc/self/clear_refs); peakExtraBytes also minus the gradients' bytes",
        })
    check, kinds = lce_check(np, torch, F, tn, E, C, b, gradient, a.dtype)
    record.update({"check": check, "checkKind": kinds})
    print(json.dumps(record), flush=True)
    return 0


# (significant bits, smallest normal exponent) of the 16-bit dtypes, for half_ulp.
HALF_FORMATS = {"bfloat16": (8, -126), "float16": (11, -14)}


def half_ulp(np, x, dtype):
    """Half the spacing of dtype's values around each entry of x (float64): how far rounding
    to dtype can move a value there. 0 for float32 (its check has no allowance), as
    softmax-bench's LinearElement.halfULP."""
    if dtype not in HALF_FORMATS:
        return np.zeros_like(x)
    bits, min_exponent = HALF_FORMATS[dtype]
    exponent = np.frexp(np.abs(x))[1] - 1          # floor(log2 |x|) for x != 0
    exponent = np.where(x == 0, min_exponent, np.maximum(exponent, min_exponent))
    return np.ldexp(1.0, exponent - bits)


def as_float32(x):
    """A tensor's values as a float32 numpy array (exact for the 16-bit dtypes; shared, not
    copied, for float32)."""
    return x.detach().float().numpy()


def lce_check(np, torch, F, tn, E, C, b, gradient, dtype):
    """Largest relative error against float64 of the inputs as stored (a 16-bit dtype's rounded
    values) of: 4 sampled tokens' losses (PyTorch's row losses, reduction='none' on those
    tokens), with gradients their rows of dE, and the identities sum_v dbias_v = 0 and
    sum_v dC_v = 0 (relative to the sums of magnitudes). For a 16-bit dtype each dE entry's
    |diff| is taken less half an ulp of the dtype at the reference (the rounding of an output
    to the dtype, as softmax-bench's check of its 16-bit cells), at least 0; the row losses
    (dtype outputs of dtype logits) and the sums are taken as they are."""
    En, Cn, bn = (as_float32(x) for x in (E, C, b))
    n, v = En.shape[0], Cn.shape[0]
    rows = sorted({0, n // 3, (2 * n) // 3, n - 1})
    with torch.inference_mode():
        ours = F.cross_entropy(F.linear(E.detach()[rows], C.detach(), b.detach()), torch.from_numpy(tn[rows]),
                               reduction="none").float().numpy().astype(np.float64)
    e64 = En[rows].astype(np.float64)
    z = np.empty((len(rows), v))
    block = max(1, (64 << 20) // (8 * Cn.shape[1]))
    for v0 in range(0, v, block):
        z[:, v0:v0 + block] = e64 @ Cn[v0:v0 + block].astype(np.float64).T + bn[v0:v0 + block]
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    ref = lse - z[np.arange(len(rows)), tn[rows]]
    errors = {"rowLoss": float(np.max(np.abs(ours - ref) / np.maximum(1, np.abs(ref))))}
    if gradient:
        g = np.exp(z - lse[:, None])
        g[np.arange(len(rows)), tn[rows]] -= 1
        g /= n
        de = np.zeros((len(rows), Cn.shape[1]))
        for v0 in range(0, v, block):
            de += g[:, v0:v0 + block] @ Cn[v0:v0 + block].astype(np.float64)
        got = as_float32(E.grad)[rows].astype(np.float64)
        diff = np.maximum(0, np.abs(got - de) - half_ulp(np, de, dtype))
        errors["dE"] = float(np.max(diff) / np.max(np.abs(de)))
        db = as_float32(b.grad)
        errors["sum dbias"] = float(abs(db.sum(dtype=np.float64)) / np.abs(db).sum(dtype=np.float64))
        dc = as_float32(C.grad)
        errors["sum dC"] = float(np.max(np.abs(dc.sum(axis=0, dtype=np.float64)))
                                 / np.max(np.abs(dc).sum(axis=0, dtype=np.float64)))
    kinds = "max of " + ", ".join(f"{k} {e:.1e}" for k, e in errors.items())
    # A NaN error makes the check NaN (max() keeps its first argument against a later NaN).
    if any(math.isnan(e) for e in errors.values()):
        return float("nan"), kinds
    return max(errors.values()), kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="L1,L2,L3,L4", help="comma separated, of L1,L2,L3,L4")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--lce-rows", type=int, default=8192, help="tokens N (default 8192)")
    ap.add_argument("--lce-dim", type=int, default=1024, help="embedding dimension D (default 1024)")
    ap.add_argument("--lce-vocab", type=int, default=32768, help="classes V of L1 / L2 (default 32768)")
    ap.add_argument("--lce-big-vocab", type=int, default=262144, help="classes V of L3 / L4 (default 262144)")
    ap.add_argument("--dtype", choices=sorted(DTYPE_BYTES), default="float32",
                    help="of E, C, bias, the logits and the gradients (default float32)")
    ap.add_argument("--memory-fraction", type=float, default=0.6,
                    help="run a cell only if its estimated peak is below this fraction of MemTotal (0.6)")
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)  # run.sh passes it to every peer
    ap.add_argument("--child", choices=LCE, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if min(a.threads, a.repetitions, a.lce_rows, a.lce_dim, a.lce_vocab, a.lce_big_vocab) < 1:
        ap.error("threads, repetitions and the shape must be positive")
    if a.child:
        return run_child(a)
    a.cells = [w.strip() for w in a.workloads.split(",") if w.strip()]
    for w in a.cells:
        if w not in LCE:
            ap.error(f"unknown workload {w} (L1, L2, L3, L4)")
    import importlib.util
    missing = [m for m in ("numpy", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        log(f"{' and '.join(missing)} not installed; run Benchmarks/Peers/install.sh")
        return 3
    return run_parent(a)


if __name__ == "__main__":
    sys.exit(main())
