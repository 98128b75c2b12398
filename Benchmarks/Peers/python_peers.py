#!/usr/bin/env python3
"""Python peers of softmax-bench on shared/PERF.md's workloads: ONNX Runtime, PyTorch, SciPy.

Our own code, calling each library's public API. One JSON line per measurement on stdout
(the same fields as the C/C++ peers); messages on stderr.

    python_peers.py --peer ort|torch|scipy --workloads W1,W2,... --threads T
                    [--size N] [--repetitions R]

What each peer runs:
  ort    ONNX Runtime, a one-node ONNX graph built with onnx.helper: Softmax (W1-W3),
         LogSoftmax (W4), both axis=-1; SoftmaxCrossEntropyLoss reduction=mean (W5).
         Inputs and the output are bound with IOBinding to preallocated, touched buffers.
         Threads: SessionOptions.intra_op_num_threads. No W6 (inference-only package).
         16-bit: float16 cells W1-f16 ... W5-f16 (tensor(float16) input and output). The CPU
         execution provider has no float16 kernel of these operators: the session inlines
         the ONNX function body (ReduceMax, Sub, Exp, ReduceSum, Div / Log, ...) and runs it in
         float32 between Cast nodes it inserts; the impl field lists the nodes that run. No
         bfloat16 cells: session creation fails (NOT_IMPLEMENTED: no bfloat16 ReduceMax for
         Softmax / LogSoftmax; INVALID_GRAPH for SoftmaxCrossEntropyLoss, whose function body's
         NegativeLogLikelihoodLoss does not take bfloat16).
  torch  PyTorch CPU: torch.softmax (W1-W3), torch.log_softmax (W4), F.cross_entropy (W5),
         F.cross_entropy forward + torch.autograd.grad w.r.t. the logits (W6).
         Threads: torch.set_num_threads (run.sh also sets OMP_NUM_THREADS).
  scipy  scipy.special.softmax (W1-W3) and log_softmax (W4), axis=-1. NumPy ufuncs are
         single-threaded; --threads only sets OMP/BLAS variables, which these do not use.

GB/s by PERF.md's convention: 8 bytes per element for W1-W4 and W6, 4 for W5 (the targets
are not counted). Timing: buffers touched first, one warm-up call, then the median and the
minimum of R timed calls.
"""

import argparse
import gc
import json
import os
import sys
import time

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6")
# The 16-bit cells of softmax-bench (W2-bf16, W6-f16, ...): the same shapes with the logits,
# outputs and gradient stored as bfloat16 / float16. PyTorch computes them on the CPU (ATen's
# reduced-precision kernels accumulate in float32); ONNX Runtime's CPU provider runs the float16
# ones (as a float32 graph between Casts, see run_ort), not the bfloat16 ones.
HALF = tuple(f"{w}-{tag}" for tag in ("bf16", "f16") for w in WORKLOADS)
SUPPORTED = {
    "ort": ("W1", "W2", "W3", "W4", "W5", "W1-f16", "W2-f16", "W3-f16", "W4-f16", "W5-f16"),
    "torch": WORKLOADS + HALF,
    "scipy": ("W1", "W2", "W3", "W4"),
}

# Why a peer has no 16-bit cells (what onnxruntime 1.32.0's CPU provider said on x86-64).
WHY_NOT = {
    ("ort", "bf16"): " (ONNX Runtime's CPU provider builds no bfloat16 session of these graphs:"
                     " Softmax / LogSoftmax: NOT_IMPLEMENTED, no implementation for ReduceMax;"
                     " SoftmaxCrossEntropyLoss: INVALID_GRAPH, NegativeLogLikelihoodLoss does"
                     " not take tensor(bfloat16))",
}


def shape(workload, size):
    """(rows, columns, operation, bytes per element) like softmax-bench's workloads; a 16-bit
    cell ("W2-bf16") moves half the bytes."""
    base, _, tag = workload.partition("-")
    scale = 2 if tag else 1
    if base == "W1":
        return 1, size, "softmax", 8 // scale
    columns = 262144 if base == "W3" else 32768
    rows = max(1, size // columns)
    op = {"W2": "softmax", "W3": "softmax", "W4": "log_softmax",
          "W5": "cross_entropy", "W6": "cross_entropy_grad"}[base]
    return rows, columns, op, (4 if base == "W5" else 8) // scale


def log(message):
    print(f"python_peers: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- inputs, checks

def make_inputs(np, rows, columns, with_targets):
    """Logits uniform in [-8, 8) (float32, C order, pages touched) and integer targets."""
    rng = np.random.default_rng(42)
    x = np.empty((rows, columns), dtype=np.float32)
    rng.random(out=x, dtype=np.float32)      # [0, 1), written in place: first touch
    x *= 16.0
    x -= 8.0
    t = rng.integers(0, columns, size=rows, dtype=np.int64) if with_targets else None
    return x, t


def touched_empty(np, shape_, dtype=None):
    y = np.empty(shape_, dtype=dtype or np.float32)
    y.fill(0.0)                              # np.zeros would map lazily: touch the pages now
    return y


def sample_rows(rows):
    return range(rows) if rows <= 64 else range(0, rows, rows // 64)


def check_rows(np, y, op):
    """Largest |row sum - 1| on sampled rows in double (a log-softmax row: sum of exp)."""
    worst = 0.0
    for r in sample_rows(y.shape[0]):
        row = y[r]
        if op == "log_softmax":
            s = float(np.exp(row.astype(np.float64)).sum())
        else:
            s = float(row.sum(dtype=np.float64))
        e = abs(s - 1.0)
        worst = e if not (e <= worst) else worst
    return worst


def reference_loss(np, x, t):
    """Mean cross-entropy in double, by blocks of rows."""
    total = 0.0
    block = max(1, (64 << 20) // (8 * x.shape[1]))
    for r0 in range(0, x.shape[0], block):
        xb = x[r0:r0 + block].astype(np.float64)
        m = xb.max(axis=1)
        lse = m + np.log(np.exp(xb - m[:, None]).sum(axis=1))
        total += float((lse - xb[np.arange(xb.shape[0]), t[r0:r0 + block]]).sum())
    return total / x.shape[0]


def check_grad(np, g, rows):
    """A cross-entropy gradient row is (softmax - onehot) / rows: rows * its sum should be 0."""
    worst = 0.0
    for r in sample_rows(g.shape[0]):
        e = abs(float(g[r].sum(dtype=np.float64)) * rows)
        worst = e if not (e <= worst) else worst
    return worst


def measure(fn, repetitions):
    fn()                                     # warm-up
    times = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return med, times[0]


def report(peer, version, impl, workload, op, threads, rows, columns, bpe, reps, med, best,
           check, check_kind):
    nbytes = rows * columns * bpe
    print(json.dumps({
        "peer": peer, "version": version, "impl": impl, "workload": workload, "operation": op,
        "threads": threads, "rows": rows, "columns": columns, "repetitions": reps,
        "medianGBs": round(nbytes / med / 1e9, 4), "bestGBs": round(nbytes / best / 1e9, 4),
        "medianSeconds": round(med, 6), "check": check, "checkKind": check_kind,
    }), flush=True)


# ----------------------------------------------------------------------------- ONNX Runtime

def run_ort(np, workloads, threads, size, reps):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    for w in workloads:
        rows, columns, op, bpe = shape(w, size)
        x, t = make_inputs(np, rows, columns, op == "cross_entropy")
        half = w.partition("-")[2] == "f16"
        elem, dtype = (TensorProto.FLOAT16, np.float16) if half else (TensorProto.FLOAT, np.float32)
        if half:
            x = x.astype(np.float16)         # a new, touched float16 array: input and reference
        X = helper.make_tensor_value_info("X", elem, [rows, columns])
        if op == "cross_entropy":
            T = helper.make_tensor_value_info("T", TensorProto.INT64, [rows])
            L = helper.make_tensor_value_info("L", elem, [])
            node = helper.make_node("SoftmaxCrossEntropyLoss", ["X", "T"], ["L"], reduction="mean")
            graph = helper.make_graph([node], w, [X, T], [L])
        else:
            Y = helper.make_tensor_value_info("Y", elem, [rows, columns])
            node = helper.make_node("Softmax" if op == "softmax" else "LogSoftmax", ["X"], ["Y"], axis=-1)
            graph = helper.make_graph([node], w, [X], [Y])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = min(model.ir_version, 8)
        onnx.checker.check_model(model)

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        nodes = ort_graph_nodes(onnx, ort, model, threads) if half else None

        binding = sess.io_binding()
        binding.bind_cpu_input("X", x)
        y = None
        if op == "cross_entropy":
            binding.bind_cpu_input("T", t)
            binding.bind_output("L", "cpu")
        else:
            y = touched_empty(np, (rows, columns), dtype)
            binding.bind_output("Y", "cpu", 0, dtype, [rows, columns], y.ctypes.data)

        med, best = measure(lambda: sess.run_with_iobinding(binding), reps)
        if op == "cross_entropy":
            loss = float(binding.copy_outputs_to_cpu()[0])
            check, kind = abs(loss - reference_loss(np, x, t)), "|loss-ref|"
        else:
            check = check_rows(np, y, op)
            kind = "max|sum(exp(row))-1|" if op == "log_softmax" else "max|row sum-1|"
        impl = {"softmax": "Softmax", "log_softmax": "LogSoftmax",
                "cross_entropy": "SoftmaxCrossEntropyLoss"}[op] + " (CPU EP, IOBinding)"
        if half:
            impl += " float16, runs " + " ".join(nodes)
        report("ONNX Runtime", ort.__version__, impl, w, op, threads, rows, columns, bpe, reps,
               med, best, check, kind)
        del sess, binding, x, y, t
        gc.collect()


def ort_graph_nodes(onnx, ort, model, threads):
    """The op types of the graph the CPU provider runs after its transformations, in order (a
    second session of the same model that writes its optimized graph to a temporary file).
    For a float16 Softmax of ONNX Runtime 1.32: Cast ReduceMax Sub Exp ReduceSum Div Cast, i.e.
    the operator's function body in float32 between inserted Casts."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3            # no warning about serializing an optimized graph
        so.optimized_model_filepath = os.path.join(d, "optimized.onnx")
        ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        return [n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node]


# ----------------------------------------------------------------------------- PyTorch

def run_torch(np, workloads, threads, size, reps):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    capability = torch.backends.cpu.get_cpu_capability()
    for w in workloads:
        rows, columns, op, bpe = shape(w, size)
        xn, tn = make_inputs(np, rows, columns, op.startswith("cross_entropy"))
        dtype = {"bf16": torch.bfloat16, "f16": torch.float16}.get(w.partition("-")[2])
        x = torch.from_numpy(xn)             # shares the touched buffer
        impl = f"ATen CPU {capability}"
        if dtype is not None:
            x = x.to(dtype)                  # a new, touched 16-bit tensor
            xn = x.float().numpy()           # the checks' reference: the 16-bit values
            impl += f" {dtype}"
        if op in ("softmax", "log_softmax"):
            y = torch.from_numpy(touched_empty(np, (rows, columns)))
            if dtype is not None:
                y = torch.zeros((rows, columns), dtype=dtype)
            f = torch.softmax if op == "softmax" else torch.log_softmax
            try:
                f(x, -1, out=y)              # into the preallocated, touched output
                call = lambda: f(x, -1, out=y)
                impl = f"torch.{op}(out=) " + impl
            except (TypeError, RuntimeError):
                holder = {}
                def call():
                    holder["y"] = f(x, -1)
                call()
                y = None
                impl = f"torch.{op} " + impl
            with torch.inference_mode():
                med, best = measure(call, reps)
            out = y if y is not None else holder["y"]
            check = check_rows(np, out.float().numpy(), op)
            kind = "max|sum(exp(row))-1|" if op == "log_softmax" else "max|row sum-1|"
        elif op == "cross_entropy":
            t = torch.from_numpy(tn)
            holder = {}
            def call():
                holder["loss"] = F.cross_entropy(x, t)
            with torch.inference_mode():
                med, best = measure(call, reps)
            check = abs(float(holder["loss"]) - reference_loss(np, xn, tn))
            kind = "|loss-ref|"
            impl = "F.cross_entropy(mean) " + impl
        else:                                # W6: loss and d loss / d logits
            t = torch.from_numpy(tn)
            xg = x.detach().requires_grad_(True)
            holder = {}
            def call():
                loss = F.cross_entropy(xg, t)
                (g,) = torch.autograd.grad(loss, xg)
                holder["loss"], holder["grad"] = loss, g
            med, best = measure(call, reps)
            loss_err = abs(float(holder["loss"].detach()) - reference_loss(np, xn, tn))
            check = max(loss_err, check_grad(np, holder["grad"].float().numpy(), rows))
            kind = "max(|loss-ref|, rows*max|grad row sum|)"
            impl = "F.cross_entropy + autograd.grad " + impl
        report("PyTorch", torch.__version__, impl, w, op, threads, rows, columns, bpe, reps,
               med, best, check, kind)
        del x, xn, tn
        holder = None
        gc.collect()


# ----------------------------------------------------------------------------- SciPy

def run_scipy(np, workloads, threads, size, reps):
    import scipy
    import scipy.special as sp

    for w in workloads:
        rows, columns, op, bpe = shape(w, size)
        x, _ = make_inputs(np, rows, columns, False)
        f = sp.softmax if op == "softmax" else sp.log_softmax
        holder = {}
        def call():
            holder["y"] = f(x, axis=-1)
        med, best = measure(call, reps)
        check = check_rows(np, holder["y"], op)
        kind = "max|sum(exp(row))-1|" if op == "log_softmax" else "max|row sum-1|"
        impl = f"scipy.special.{op} (NumPy {np.__version__}, single-threaded, allocates its output)"
        report("SciPy", scipy.__version__, impl, w, op, threads, rows, columns, bpe, reps,
               med, best, check, kind)
        del x
        holder = None
        gc.collect()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, choices=sorted(SUPPORTED))
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma separated; workloads the peer lacks are skipped with a message")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", type=int, default=1 << 28, help="elements (default 2^28 = 1 GiB)")
    ap.add_argument("--repetitions", type=int, default=5)
    a = ap.parse_args()
    if a.threads < 1 or a.size < 1 or a.repetitions < 1:
        ap.error("threads, size and repetitions must be positive")
    wanted = [w.strip() for w in a.workloads.split(",") if w.strip()]
    for w in wanted:
        if w not in WORKLOADS + HALF:
            ap.error(f"unknown workload {w}")
    runnable = [w for w in wanted if w in SUPPORTED[a.peer]]
    for w in wanted:
        if w not in runnable:
            log(f"{a.peer} has no operation for {w}: skipped{WHY_NOT.get((a.peer, w.partition('-')[2]), '')}")
    try:
        import numpy as np
    except ImportError as e:
        log(f"numpy is not installed ({e}); run Benchmarks/Peers/install.sh")
        return 3
    runner = {"ort": run_ort, "torch": run_torch, "scipy": run_scipy}[a.peer]
    try:
        runner(np, runnable, a.threads, a.size, a.repetitions)
    except ImportError as e:
        log(f"{a.peer} is not installed ({e}); run Benchmarks/Peers/install.sh")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
