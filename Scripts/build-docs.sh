#!/usr/bin/env bash
# Builds the DocC documentation of the SoftmaxKernels module into .build/docs with the
# toolchain alone (no swift-docc-plugin), and fails on any DocC warning and on any public symbol
# declared in Sources/ without a doc comment (names starting with `_` excepted).
#
# 1. `swift build --target SoftmaxKernels` with `-emit-symbol-graph`, in its own scratch path
#    (.build/docs-build): the extra compiler flags would otherwise invalidate the normal debug
#    build that `swift test` uses.
# 2. Only the graphs of the module `SoftmaxKernels` are given to DocC: `SoftmaxKernels.symbols.json`
#    and its extension graphs `SoftmaxKernels@<Module>.symbols.json`. Every public symbol is
#    declared in that module (the kernel modules and SoftmaxKernelsCore have `package` access
#    only), so the other modules' graphs are left out.
# 3. `docc convert --warnings-as-errors`, with the experimental documentation coverage summary.
#    `--enable-inherited-docs`: with it, DocC shows a symbol's own comment where the symbol
#    implements a protocol requirement (`description`, `<`) and the standard library's comments
#    for the members that stdlib protocols provide (`!=`, `hashValue`, ...).
# 4. A check of the graph: every public symbol declared in Sources/ has a doc comment.
#
# View the result with `python3 -m http.server --directory .build/docs 8000` and
# http://localhost:8000/documentation/softmaxkernels/.
set -euo pipefail
cd "$(dirname "$0")/.."

catalog=Sources/SoftmaxKernels/SoftmaxKernels.docc
scratch=.build/docs-build
emitted="$PWD/$scratch/symbol-graphs"   # every module's graphs, as the compiler writes them
graphs=.build/docs-symbol-graphs        # the SoftmaxKernels module's graphs, given to DocC
output=.build/docs
log=.build/docs-build/docc.log

docc=$(command -v docc || true)
if [ -z "$docc" ]; then
  docc="$(dirname "$(readlink -f "$(command -v swift)")")/docc"
fi
[ -x "$docc" ] || { echo "build-docs: no docc next to swift or on PATH" >&2; exit 1; }

start=$SECONDS
mkdir -p "$emitted"
# The compiler writes a module's graphs only when it compiles the module: a stamp tells this
# run's graphs from an earlier run's.
stamp="$scratch/symbol-graphs.stamp"
touch "$stamp"
sleep 1   # graphs written in this run are strictly newer than the stamp, also on coarse clocks

echo "-- symbol graphs: swift build --target SoftmaxKernels --scratch-path $scratch -emit-symbol-graph"
swift build --target SoftmaxKernels --scratch-path "$scratch" \
  -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$emitted"

if [ "$emitted/SoftmaxKernels.symbols.json" -nt "$stamp" ]; then
  # Recompiled: take this run's graphs of the module (an extension graph from an earlier run,
  # for an extension since removed, is older than the stamp and left out).
  rm -rf "$graphs"
  mkdir -p "$graphs"
  cp "$emitted/SoftmaxKernels.symbols.json" "$graphs/"
  find "$emitted" -maxdepth 1 -name 'SoftmaxKernels@*.symbols.json' -newer "$stamp" \
    -exec cp {} "$graphs/" \;
elif [ ! -f "$graphs/SoftmaxKernels.symbols.json" ]; then
  echo "build-docs: the module is up to date but no symbol graph was kept; remove $scratch and retry" >&2
  exit 1
fi
echo "-- symbol graphs given to DocC: $(cd "$graphs" && ls | tr '\n' ' ')"

echo "-- docc convert $catalog -> $output (warnings are errors)"
rm -rf "$output"
status=0
"$docc" convert "$catalog" \
  --additional-symbol-graph-dir "$graphs" \
  --fallback-display-name SoftmaxKernels \
  --fallback-bundle-identifier org.softmaxkernels.SoftmaxKernels \
  --output-path "$output" \
  --warnings-as-errors \
  --enable-inherited-docs \
  --experimental-documentation-coverage --coverage-summary-level brief \
  >"$log" 2>&1 || status=$?
cat "$log"
# Belt and braces: a diagnostic fails the build even if docc were to exit 0 after it.
if [ "$status" -ne 0 ] || grep -qE '^(warning|error):' "$log"; then
  echo "build-docs: FAILED: docc reported the diagnostics above (exit status $status)" >&2
  exit 1
fi

echo "-- doc comments of the public symbols declared in Sources/"
python3 - "$graphs" "$PWD/Sources/" <<'EOF'
import json, os, sys
graphs, sources = sys.argv[1], sys.argv[2]
declared, missing = 0, []
for name in sorted(os.listdir(graphs)):
    with open(os.path.join(graphs, name)) as f:
        graph = json.load(f)
    for symbol in graph["symbols"]:
        path = symbol["pathComponents"]
        uri = symbol.get("location", {}).get("uri", "")
        # Compiler-derived members (hashValue, init(rawValue:), ...) and stdlib default
        # implementations have no location in Sources/: no comment can be written for them.
        if not uri.startswith("file://" + sources):
            continue
        if any(component.startswith("_") for component in path):
            continue
        declared += 1
        comment = symbol.get("docComment", {})
        # Its own comment, not one inherited from a protocol requirement of another module (the
        # comment of a re-exported symbol names the module it is declared in, in Sources/ too).
        own = comment.get("uri", "").startswith("file://" + sources) or not (
            "uri" in comment or "module" in comment)
        if not (own and any(line["text"].strip() for line in comment.get("lines", []))):
            line = symbol["location"]["position"]["line"] + 1
            missing.append(f"{uri[len('file://') + len(os.getcwd()) + 1:]}:{line}: "
                           f"{'.'.join(path)} ({symbol['kind']['displayName']})")
print(f"{declared - len(missing)} of {declared} public symbols declared in Sources/ have a doc comment")
for m in missing:
    print("  undocumented: " + m)
sys.exit(1 if missing else 0)
EOF

echo "-- documentation built in $((SECONDS - start)) s: $output (coverage details: $output/documentation-coverage.json)"
