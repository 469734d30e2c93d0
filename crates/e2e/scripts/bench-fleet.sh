#!/usr/bin/env bash
# Times the Vault side of an N-cluster fleet (default 20) done by one `e2e fleet run` process
# against N sequential `e2e run` processes doing the same (one cluster each, same root, same
# per-cluster names), interleaved on one local OpenBao dev server; prints the medians and their
# ratio (fleet / sequential), then how one fleet run's time grows with the cluster count.
#
#   crates/e2e/scripts/bench-fleet.sh [ROUNDS] [N] [GROWTH...]   # default 5 rounds, 20, "5 20 50"
#
# Each round uses fresh mount and role names (a prefix), so both sides do every step from
# scratch: per cluster an intermediate mount, its CA, role, policy, AppRole role, secret-id,
# files and the verification (a workload signed, chains checked, refusals checked).
# Env: BAO_BIN (default: scripts/install-openbao.sh), E2E_BIN (default: a release build),
# CONCURRENCY (default: e2e's default).
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds="${1:-5}"
n="${2:-20}"
shift $(( $# > 2 ? 2 : $# ))
growth=("${@:-5 20 50}")
# shellcheck disable=SC2206
growth=(${growth[*]})
. crates/e2e/scripts/bench-common.sh
conc=()
[ -n "${CONCURRENCY:-}" ] && conc=(--concurrency "$CONCURRENCY")

# A fleet file of $2 clusters named <prefix>c<k>, importing the fixture root into <prefix>-pki.
fleet_file() {
  local p=$1 count=$2 f="$work/$1.yaml"
  {
    printf 'root: {cert: %s, key: %s, mount: %s-pki}\n' "$work/root.crt" "$work/root.key" "$p"
    printf 'defaults: {approleMount: %s-approle}\n' "$p"
    printf 'clusters:\n'
    for k in $(seq "$count"); do printf -- '- name: %sc%s\n' "$p" "$k"; done
  } >"$f"
  echo "$f"
}

fleet_round() {
  local p=$1 count=$2 f
  f=$(fleet_file "$p" "$count")
  "$E2E_BIN" fleet run --fleet "$f" --out "$work/out-$p" "${conc[@]}" --output json \
    >"$work/fleet-$p.json" 2>"$work/fleet-$p.log" || { tail -20 "$work/fleet-$p.log" >&2; exit 1; }
}

# The same clusters, one `e2e run` process each, one after the other.
sequential_round() {
  local p=$1 count=$2
  for k in $(seq "$count"); do
    local c="${p}c$k"
    "$E2E_BIN" run --out "$work/out-$p/$c" --root-ca-cert "$work/root.crt" \
      --root-ca-key "$work/root.key" --root-mount "$p-pki" --intermediate-mount "istioca-$c" \
      --approle-mount "$p-approle" --approle-role "cert-manager-$c" --policy "cert-manager-$c" \
      --cluster-id "$c" >/dev/null 2>"$work/run-$c.log" || { cat "$work/run-$c.log" >&2; exit 1; }
  done
}

fleet_times=() seq_times=() ratios=()
fleet_round w0 2; sequential_round w1 2   # warm-up, not counted
for i in $(seq "$rounds"); do
  t0=$(now); fleet_round "f$i" "$n"; t1=$(now)
  sequential_round "s$i" "$n"; t2=$(now)
  fleet_times+=("$(echo "$t1 - $t0" | bc -l)")
  seq_times+=("$(echo "$t2 - $t1" | bc -l)")
  ratios+=("$(echo "($t1 - $t0) / ($t2 - $t1)" | bc -l)")
done
mf=$(median "${fleet_times[@]}")
ms=$(median "${seq_times[@]}")
printf 'rounds: %s, clusters: %s; machine: %s cores, load average %s\n' "$rounds" "$n" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'one e2e fleet run:        median %.3f s  [%s]\n' "$mf" "$(printf '%.3f ' "${fleet_times[@]}")"
printf '%s sequential e2e runs:   median %.3f s  [%s]\n' "$n" "$ms" "$(printf '%.3f ' "${seq_times[@]}")"
printf 'ratio of medians (fleet / sequential): %.3f (target <= 0.25)\n' "$(echo "$mf / $ms" | bc -l)"
printf 'per-round ratios: [%s]\n' "$(printf '%.3f ' "${ratios[@]}")"

for count in "${growth[@]}"; do
  ts=()
  for i in 1 2 3; do
    t0=$(now); fleet_round "g${count}r$i" "$count"; t1=$(now)
    ts+=("$(echo "$t1 - $t0" | bc -l)")
  done
  m=$(median "${ts[@]}")
  printf 'fleet of %3s clusters: median %.3f s (%.1f ms per cluster)  [%s]\n' "$count" "$m" \
    "$(echo "$m * 1000 / $count" | bc -l)" "$(printf '%.3f ' "${ts[@]}")"
done
