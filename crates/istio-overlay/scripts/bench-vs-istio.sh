#!/usr/bin/env bash
# Istio's own overlay code (bench-go/, Go, istio.io/istio pinned in its go.mod) against
# istio-overlay on the same workload, interleaved: ROUNDS rounds (default 5) at 1,000 and
# 4,000 objects, each round running Go, then Rust with the system allocator, then Rust with
# mimalloc (the allocator of the istio-overlay binary). Checks that the patched objects are the
# same JSON on every side, then prints the median nanoseconds per patch of each, the ratios,
# and the machine's load.
#
#   crates/istio-overlay/scripts/bench-vs-istio.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
rounds=${ROUNDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "building bench-go (Istio's code; a first build downloads istio.io/istio, minutes) and the Rust examples" >&2
(cd "$here/bench-go" && go build -o "$target/bench-go" .)
cargo build -q --release -p istio-overlay --example vs_istio --example vs_istio_mimalloc
sides=(go rust rust-mimalloc)
run() {
  case $1 in
    go) "$target/bench-go" "$2" "$3" ;;
    rust) "$target/release/examples/vs_istio" "$4" "$2" "$3" ;;
    rust-mimalloc) "$target/release/examples/vs_istio_mimalloc" "$4" "$2" "$3" ;;
  esac
}

for n in 1000 4000; do
  # The Rust side writes the workload the Go side reads.
  "$target/release/examples/vs_istio" "$n" "$tmp/w$n.json" "$tmp/first$n.json" >/dev/null
  for r in $(seq "$rounds"); do
    for s in "${sides[@]}"; do
      run "$s" "$tmp/w$n.json" "$tmp/$s$n.json" "$n" >>"$tmp/$s$n.txt"
    done
  done
  for s in rust rust-mimalloc; do
    python3 - "$tmp/$s$n.json" "$tmp/go$n.json" "$s" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a != b:
    bad = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    sys.exit(f"outputs differ at object {bad}:\n{sys.argv[3]} {json.dumps(a[bad])}\ngo {json.dumps(b[bad])}")
print(f"{len(a)} objects: {sys.argv[3]} and Go outputs are the same JSON")
PY
  done
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
for n in 1000 4000; do
  g=$(awk '{print $3}' "$tmp/go$n.txt" | median)
  line="$n objects, $rounds rounds: Go (Istio) $g ns/patch"
  for s in rust rust-mimalloc; do
    v=$(awk '{print $3}' "$tmp/$s$n.txt" | median)
    echo "$v" >"$tmp/$s-m$n"
    line="$line; $s $v ns/patch, $(ratio "$g" "$v")x"
  done
  echo "$line"
done
for s in rust rust-mimalloc; do
  echo "$s cost per patch, 4,000 vs 1,000 objects: $(ratio "$(cat "$tmp/$s-m4000")" "$(cat "$tmp/$s-m1000")")x"
done
echo "load: $(uptime)"
