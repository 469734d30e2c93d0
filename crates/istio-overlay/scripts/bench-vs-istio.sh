#!/usr/bin/env bash
# Istio's own overlay code (bench-go/, Go, istio.io/istio pinned in its go.mod) against
# istio-overlay on the same workload, interleaved: ROUNDS rounds (default 5) at 1,000 and
# 4,000 objects, alternating Go and Rust. Checks the patched objects are the same JSON, then
# prints the median nanoseconds per patch on each side, the ratio, and the machine's load.
#
#   crates/istio-overlay/scripts/bench-vs-istio.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
rounds=${ROUNDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$here/bench-go" && go build -o "$target/bench-go" .)
cargo build -q --release -p istio-overlay --example vs_istio
rust="$target/release/examples/vs_istio"

for n in 1000 4000; do
  for r in $(seq "$rounds"); do
    "$rust" "$n" "$tmp/w$n.json" "$tmp/rust$n.json" >>"$tmp/rust$n.txt"
    "$target/bench-go" "$tmp/w$n.json" "$tmp/go$n.json" >>"$tmp/go$n.txt"
  done
  python3 - "$tmp/rust$n.json" "$tmp/go$n.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
if a != b:
    bad = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    sys.exit(f"outputs differ at object {bad}:\nrust {json.dumps(a[bad])}\ngo   {json.dumps(b[bad])}")
print(f"{len(a)} objects: Rust and Go outputs are the same JSON")
PY
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
for n in 1000 4000; do
  g=$(awk '{print $3}' "$tmp/go$n.txt" | median)
  r=$(awk '{print $3}' "$tmp/rust$n.txt" | median)
  echo "$n objects, $rounds rounds: Go (Istio) $g ns/patch, Rust $r ns/patch, ratio $(awk -v g="$g" -v r="$r" 'BEGIN {printf "%.2f", g / r}')x"
  echo "$r" >"$tmp/r$n"
done
echo "Rust cost per patch, 4,000 vs 1,000 objects: $(awk -v a="$(cat "$tmp/r1000")" -v b="$(cat "$tmp/r4000")" 'BEGIN {printf "%.2f", b / a}')x"
echo "load: $(uptime)"
