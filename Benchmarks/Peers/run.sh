#!/usr/bin/env bash
# Runs the peers (XNNPACK, oneDNN, ONNX Runtime, PyTorch, SciPy) and softmax-bench on
# shared/PERF.md's workloads W1-W6 at the same size, threads and repetitions, in one run, and
# prints one combined table (also written as Markdown with --markdown FILE).
#
#   bash Benchmarks/Peers/run.sh [--size N] [--repetitions R] [--threads 1,2]
#                                [--markdown FILE] [--out DIR] [--peers LIST]
#                                [--workloads LIST] [--ours-json FILE] [--ours-source worktree|head]
#                                [--lce-rows N] [--lce-dim D] [--lce-vocab V] [--lce-big-vocab V]
#                                [--lce-type LIST] [--isa LIST]
#
# The linear cross-entropy cells L1-L4 (PyTorch's F.linear + F.cross_entropy against
# softmax-bench --lce) run only when --workloads names them, e.g. --workloads L1,L2,L3,L4;
# --lce-type bfloat16 (or a list, e.g. float,bfloat16) runs them with 16-bit storage on both
# sides (softmax-bench --lce-type, linear_ce_peer.py --dtype).
#
# Install the peers first: bash Benchmarks/Peers/install.sh. A peer that is missing or fails
# is skipped with a message; its columns show "—".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$here/build"

size=$((1 << 28))
repetitions=5
threads="1,2"
isa=""
markdown=""
out=""
peers="xnnpack,onednn,ort,torch,scipy"
workloads="W1,W2,W3,W4,W5,W6"
ours_json=""
ours_source="worktree"
lce_args=()
lce_types=""

usage() {
  sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
  cat <<EOF

options:
  --size N           elements per workload (default $size = 1 GiB of floats)
  --repetitions R    timed calls per measurement, median reported (default $repetitions)
  --threads LIST     thread counts (default $threads)
  --markdown FILE    also write the combined table as Markdown to FILE
  --out DIR          where the raw results go (default Benchmarks/Peers/build/results-<time>)
  --peers LIST       subset of $peers
  --workloads LIST   subset of $workloads, or 16-bit cells: W1-bf16 ... W6-f16, or the
                     linear cross-entropy cells L1,L2,L3,L4 (PyTorch and softmax-bench --lce)
  --ours-json FILE   use this softmax-bench JSON instead of running softmax-bench
  --ours-source S    worktree (default): softmax-bench of the work tree as it is;
                     head: of the last commit, exported with git archive into build/ours-src
  --lce-rows N, --lce-dim D, --lce-vocab V, --lce-big-vocab V
                     the shape of the linear cross-entropy cells L1-L4 (default 8192, 1024,
                     32768 for L1/L2, 262144 for L3/L4), passed to both sides
  --isa LIST         our cells at these ISA levels only (softmax-bench --isa, e.g. x86-64-v4;
                     default every level the CPU has): a shorter run, the peers unchanged
  --lce-type LIST    storage types of L1-L4, comma separated, of float, bfloat16, float16
                     (default float): softmax-bench --lce-type LIST, and PyTorch once per
                     type with --dtype float32 / bfloat16 / float16
EOF
}

die() { echo "run.sh: $*" >&2; exit 2; }
note() { echo "run.sh: $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="${2:?--size needs a value}"; shift 2 ;;
    --repetitions) repetitions="${2:?--repetitions needs a value}"; shift 2 ;;
    --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
    --isa) isa="${2:?--isa needs a value}"; shift 2 ;;
    --markdown) markdown="${2:?--markdown needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --peers) peers="${2:?--peers needs a value}"; shift 2 ;;
    --workloads) workloads="${2:?--workloads needs a value}"; shift 2 ;;
    --ours-json) ours_json="${2:?--ours-json needs a value}"; shift 2 ;;
    --ours-source) ours_source="${2:?--ours-source needs a value}"; shift 2 ;;
    --lce-rows|--lce-dim|--lce-vocab|--lce-big-vocab)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '${2:-}'"
      lce_args+=("$1" "$2"); shift 2 ;;
    --lce-type) lce_types="${2:?--lce-type needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[[ "$size" =~ ^[1-9][0-9]*$ ]] || die "--size needs a positive integer, got '$size'"
[[ "$repetitions" =~ ^[1-9][0-9]*$ ]] || die "--repetitions needs a positive integer, got '$repetitions'"
[[ "$threads" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--threads needs a list like 1,2, got '$threads'"
IFS=, read -r -a thread_list <<<"$threads"
IFS=, read -r -a peer_list <<<"$peers"
IFS=, read -r -a workload_list <<<"$workloads"
[[ "$ours_source" == worktree || "$ours_source" == head ]] || die "--ours-source is worktree or head, got '$ours_source'"
lce_list=()
for w in "${workload_list[@]}"; do
  [[ "$w" =~ ^(W[1-6](-bf16|-f16)?|L[1-4])$ ]] || die "unknown workload '$w' (W1-W6, optionally -bf16 or -f16; L1-L4)"
  [[ "$w" == L* ]] && lce_list+=("$w")
done
# The storage types of L1-L4 (empty: float, and neither side is given the option).
lce_type_list=(float)
if [[ -n "$lce_types" ]]; then
  IFS=, read -r -a lce_type_list <<<"$lce_types"
  for ty in "${lce_type_list[@]}"; do
    [[ "$ty" =~ ^(float|bfloat16|float16)$ ]] || die "unknown --lce-type '$ty' (float, bfloat16, float16)"
  done
fi
for p in "${peer_list[@]}"; do
  case "$p" in xnnpack|onednn|ort|torch|scipy) ;; *) die "unknown peer '$p' (xnnpack,onednn,ort,torch,scipy)" ;; esac
done
# Absolute paths: the script changes directory later.
[[ -z "$markdown" || "$markdown" = /* ]] || markdown="$PWD/$markdown"
[[ -z "$ours_json" || "$ours_json" = /* ]] || ours_json="$PWD/$ours_json"
[[ -z "$out" ]] && out="$build/results-$(date +%Y%m%d-%H%M%S)"
[[ "$out" = /* ]] || out="$PWD/$out"
mkdir -p "$build" "$out"
results="$out/peers.jsonl"
: >"$results"

wants() { local x="$1"; shift; local y; for y in "$@"; do [[ "$x" == "$y" ]] && return 0; done; return 1; }

# Which workloads each peer has (XNNPACK: softmax only; oneDNN: softmax and log-softmax;
# ONNX Runtime: no gradient in the inference package; SciPy: softmax and log-softmax). The
# 16-bit cells (W2-bf16, W6-f16, ...): PyTorch all of them; oneDNN 2.6 bf16 softmax and
# log-softmax (its CPU build has no f16 softmax, and bf16 only with AVX-512: elsewhere the run
# fails with oneDNN's "unimplemented" and the cell stays empty); ONNX Runtime float16 W1-W5 (its
# CPU provider runs them as a float32 graph between Casts; bfloat16 sessions fail to build).
# The linear cross-entropy cells L1-L4: PyTorch only (linear_ce_peer.py).
half_cells() { local w t; for t in bf16 f16; do for w in "$@"; do printf '%s ' "$w-$t"; done; done; }
tag_cells() { local t="$1" w; shift; for w in "$@"; do printf '%s ' "$w-$t"; done; }
declare -A has=(
  [xnnpack]="W1 W2 W3" [onednn]="W1 W2 W3 W4 $(tag_cells bf16 W1 W2 W3 W4)"
  [ort]="W1 W2 W3 W4 W5 $(tag_cells f16 W1 W2 W3 W4 W5)"
  [torch]="W1 W2 W3 W4 W5 W6 $(half_cells W1 W2 W3 W4 W5 W6) L1 L2 L3 L4" [scipy]="W1 W2 W3 W4"
)

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before="$(load)"
echo "== peers comparison: size $size elements ($((size * 4 / 1048576)) MiB of floats), repetitions $repetitions, threads $threads"
echo "== results in $out; load average before: $load_before"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)"

# ---------------------------------------------------------------------------- build
cflags=(-O2 -Wall -Wextra)
available=()
if wants xnnpack "${peer_list[@]}"; then
  if [[ -f /usr/include/xnnpack.h ]] && command -v gcc >/dev/null; then
    xv="$(dpkg-query -W -f='${Version}' libxnnpack-dev 2>/dev/null || echo unknown)"
    if gcc "${cflags[@]}" -DXNNPACK_PACKAGE_VERSION="\"$xv\"" "$here/xnnpack_softmax.c" \
         -o "$build/xnnpack_softmax" -lXNNPACK -lpthreadpool -lm; then
      available+=(xnnpack)
    else
      note "XNNPACK peer did not build: skipped"
    fi
  else
    note "XNNPACK is not installed (/usr/include/xnnpack.h) or gcc is missing: skipped (run install.sh)"
  fi
fi
if wants onednn "${peer_list[@]}"; then
  if [[ -f /usr/include/oneapi/dnnl/dnnl.hpp ]] && command -v g++ >/dev/null; then
    if g++ "${cflags[@]}" -fopenmp "$here/onednn_softmax.cpp" -o "$build/onednn_softmax" -ldnnl -lm; then
      available+=(onednn)
    else
      note "oneDNN peer did not build: skipped"
    fi
  else
    note "oneDNN is not installed (/usr/include/oneapi/dnnl/dnnl.hpp) or g++ is missing: skipped (run install.sh)"
  fi
fi
py="$here/.venv/bin/python"
for p in ort torch scipy; do
  wants "$p" "${peer_list[@]}" || continue
  module="$(case "$p" in ort) echo onnxruntime ;; torch) echo torch ;; scipy) echo scipy ;; esac)"
  extra="$([[ "$p" == ort ]] && echo ", onnx" || true)"
  if [[ -x "$py" ]] && "$py" -c "import numpy, $module${extra}" 2>/dev/null; then
    available+=("$p")
  else
    note "$module is not installed in $here/.venv: $p skipped (run install.sh)"
  fi
done

# ---------------------------------------------------------------------------- peers
run_peer() {  # peer workload threads [storage type of an L cell: float, bfloat16, float16]
  local p="$1" w="$2" t="$3" ty="${4:-float}" cmd rc=0
  # A 16-bit L cell: its type in the label and the log's name, and PyTorch's --dtype.
  local tag="" name="$w"
  case "$ty" in bfloat16) tag=" bf16"; name="$w-bf16" ;; float16) tag=" f16"; name="$w-f16" ;; esac
  case "$p" in
    xnnpack) cmd=("$build/xnnpack_softmax" --workload "$w") ;;
    onednn) cmd=("$build/onednn_softmax" --workload "$w") ;;
    torch) if [[ "$w" == L* ]]; then
             cmd=("$py" "$here/linear_ce_peer.py" --workloads "$w" "${lce_args[@]}")
             [[ "$ty" == float ]] || cmd+=(--dtype "$ty")
           else
             cmd=("$py" "$here/python_peers.py" --peer "$p" --workloads "$w")
           fi ;;
    *) cmd=("$py" "$here/python_peers.py" --peer "$p" --workloads "$w") ;;
  esac
  cmd+=(--threads "$t" --size "$size" --repetitions "$repetitions")
  printf '  %-8s %s %dt ... ' "$p" "$w$tag" "$t"
  local line err="$out/$p-$name-${t}t.err"
  line="$(OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
          "${cmd[@]}" 2>"$err")" || rc=$?
  line="$(grep '^{' <<<"$line" || true)"
  if [[ $rc -ne 0 || -z "$line" ]]; then
    echo "FAILED (exit $rc), skipped; see $err"
    sed 's/^/      /' "$err" | tail -5 >&2
    return 0
  fi
  echo "$line" >>"$results"
  "${py_any}" -c '
import json, sys
r = json.loads(sys.stdin.readline())
if r.get("skipped"):
    print("not run: " + r["skipped"])
elif "medianGBs" in r:
    print("%.2f GB/s median, %.2f best, check %.1e" % (r["medianGBs"], r["bestGBs"], r["check"]))
else:
    print("%.3f s median, %.1f GFLOP/s, %.0f MiB beyond inputs and outputs, check %.1e"
          % (r["medianSeconds"], r["medianGFLOPs"], r.get("peakExtraBytes", float("nan")) / 2**20, r["check"]))' <<<"$line"
}
py_any="$( [[ -x "$py" ]] && echo "$py" || command -v python3 || true )"
[[ -n "$py_any" ]] || die "no Python found (python3) to read the results"

echo "== peers"
for p in "${available[@]}"; do
  for w in "${workload_list[@]}"; do
    wants "$w" ${has[$p]} || continue
    if [[ "$w" == L* ]]; then
      for ty in "${lce_type_list[@]}"; do
        for t in "${thread_list[@]}"; do run_peer "$p" "$w" "$t" "$ty"; done
      done
    else
      for t in "${thread_list[@]}"; do run_peer "$p" "$w" "$t"; done
    fi
  done
done

# ---------------------------------------------------------------------------- ours
ours="$out/ours.json"
if [[ -n "$ours_json" ]]; then
  echo "== ours: using $ours_json (softmax-bench not run)"
  cp "$ours_json" "$ours" || note "cannot read $ours_json; our columns stay empty"
elif ! command -v swift >/dev/null; then
  note "swift is not on PATH: softmax-bench not run; our columns stay empty"
else
  src="$repo"
  if [[ "$ours_source" == head ]]; then
    # The committed tree, exported (git archive; the work tree and .git stay untouched) into
    # build/ours-src, whose own .build is kept between runs.
    src="$build/ours-src"
    mkdir -p "$src"
    find "$src" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
    if ! git -C "$repo" archive --format=tar HEAD | tar -x -C "$src"; then
      note "git archive of HEAD failed: softmax-bench not run"
      src=""
    else
      echo "== ours: built from HEAD $(git -C "$repo" rev-parse --short HEAD) in $src"
    fi
  fi
  bench=(--size "$size" --threads "$threads" --repetitions "$repetitions" --json "$ours")
  [[ -n "$isa" ]] && bench+=(--isa "$isa")
  # The linear cross-entropy cells (softmax-bench --lce) only when asked for.
  [[ ${#lce_list[@]} -gt 0 ]] && bench+=(--lce "${lce_args[@]}")
  [[ ${#lce_list[@]} -gt 0 && -n "$lce_types" ]] && bench+=(--lce-type "$lce_types")
  # A single requested workload narrows our cells too (cell names start with "W<n> " / "L<n> ");
  # only L cells: every cell named "LCE".
  if [[ ${#workload_list[@]} -eq 1 ]]; then
    bench+=(--filter "${workload_list[0]} ")
  elif [[ ${#lce_list[@]} -eq ${#workload_list[@]} ]]; then
    bench+=(--filter "LCE")
  fi
  if [[ -n "$src" ]]; then
    echo "== ours: swift build -c release --product softmax-bench (in $src)"
    if (cd "$src" && swift build -c release --product softmax-bench) >"$out/ours-build.log" 2>&1; then
      echo "== ours: swift run -c release --skip-build softmax-bench ${bench[*]}"
      (cd "$src" && swift run -c release --skip-build softmax-bench "${bench[@]}") 2>&1 | tee "$out/ours.log" || true
    else
      note "softmax-bench did not build (last lines of $out/ours-build.log below; a work tree in the"
      note "middle of an edit can do that: --ours-source head builds the last commit instead)"
      grep -E "error:" "$out/ours-build.log" | sort -u | head -10 >&2 || tail -15 "$out/ours-build.log" >&2
    fi
  fi
  [[ -s "$ours" ]] || note "softmax-bench wrote no JSON; our columns stay empty"
fi

# ---------------------------------------------------------------------------- table
# What "ours" was: the commit, and whether the work tree had uncommitted changes.
rev="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$ours_json" ]]; then
  ours_what="JSON file $ours_json (not run here)"
elif [[ "$ours_source" == head ]]; then
  ours_what="commit $rev (exported)"
elif [[ -n "$(git -C "$repo" status --porcelain -- Sources Benchmarks/SoftmaxBench Package.swift 2>/dev/null)" ]]; then
  ours_what="work tree at $rev with uncommitted changes"
else
  ours_what="work tree at $rev"
fi
notes=(--note "size $size elements ($((size * 4 / 1048576)) MiB of floats) per workload, median of $repetitions timed calls after one warm-up; threads $threads"
       --note "CPU: ${cpu:-unknown}, $(nproc) cores; load average before $load_before, after $(load); $(date -u '+%Y-%m-%d %H:%M UTC')"
       --note "ours (softmax-bench): $ours_what")
md=()
[[ -n "$markdown" ]] && md=(--markdown "$markdown")
"$py_any" "$here/combine.py" --peers "$results" --ours "$ours" --threads "$threads" --workloads "$workloads" \
  --title "Peers vs softmax-bench" "${notes[@]}" "${md[@]}"
[[ -n "$markdown" ]] && cp "$markdown" "$out/table.md" 2>/dev/null || true
echo "raw results: $out"
