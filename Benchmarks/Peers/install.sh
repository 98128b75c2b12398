#!/usr/bin/env bash
# Installs the peers of softmax-bench, idempotently (a second run changes nothing):
#   - Debian: libxnnpack-dev (XNNPACK 2022 snapshot), libdnnl-dev (oneDNN 2.6), the build
#     tools (gcc, g++, pkg-config) and python3-venv;
#   - a Python virtual environment in Benchmarks/Peers/.venv with onnxruntime, onnx (to build
#     the ONNX graphs), torch (CPU), numpy and scipy from PyPI.
# torch: a CPU-only wheel (`torch-*+cpu`) that pip's configured --find-links directory
# offers is preferred (the default PyPI wheel pulls in ~3 GB of CUDA libraries); without one,
# the plain PyPI wheel is installed.
#
#   bash Benchmarks/Peers/install.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
say() { echo "install.sh: $*"; }

# ---------------------------------------------------------------------------- Debian packages
debs=(libxnnpack-dev libdnnl-dev libpthreadpool-dev gcc g++ pkg-config python3-venv)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  say "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
  say "Debian packages already installed: ${debs[*]}"
fi

# ---------------------------------------------------------------------------- Python venv
python="${PYTHON:-$(command -v python3 || true)}"
[[ -n "$python" ]] || { echo "install.sh: python3 not found" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  say "creating $venv with $python ($("$python" --version 2>&1))"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)

if "$venv/bin/python" -c "import torch" 2>/dev/null; then
  say "torch already installed: $("$venv/bin/python" -c 'import torch; print(torch.__version__)')"
else
  # A CPU-only wheel from pip's own --find-links, if the configuration has one.
  if "${pip[@]}" install --no-index --no-deps --only-binary=:all: torch 2>/dev/null &&
     "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit('+cpu' not in m.version('torch'))"; then
    say "installed the CPU-only torch wheel from pip's --find-links"
  else
    "${pip[@]}" uninstall -y torch >/dev/null 2>&1 || true
    say "no CPU-only torch wheel offered locally: installing torch from PyPI"
  fi
fi
# Pins torch to what is installed (if any) so its dependencies come from PyPI without
# replacing a CPU wheel by the CUDA one; everything else: the newest that installs.
torch_req="torch"
tv="$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('torch'))" 2>/dev/null || true)"
[[ -n "$tv" ]] && torch_req="torch==$tv"
"${pip[@]}" install "$torch_req" numpy scipy onnxruntime onnx

"$venv/bin/python" - <<'EOF'
import numpy, scipy, onnx, onnxruntime, torch
print("install.sh: versions: numpy", numpy.__version__, "| scipy", scipy.__version__,
      "| onnx", onnx.__version__, "| onnxruntime", onnxruntime.__version__,
      "| torch", torch.__version__, "(CPU capability", torch.backends.cpu.get_cpu_capability() + ")")
EOF
say "Debian: XNNPACK $(dpkg-query -W -f='${Version}' libxnnpack-dev), oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev)"
say "done; run: bash Benchmarks/Peers/run.sh"
