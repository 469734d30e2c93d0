#!/usr/bin/env bash
# Times the whole `e2e run` (release build, its own process, importing a given root CA) against
# the same Vault steps done as one `bao` CLI call each (the seed's way), on one local OpenBao
# dev server, and prints the medians and their ratio (e2e / bao CLI).
#
#   crates/e2e/scripts/bench-vs-bao-cli.sh [ROUNDS]      # default 7 rounds
#
# Each round uses fresh mount/role names (a prefix), so both sides do every step from scratch.
# `e2e run` also writes its files and runs its verification; the bao side does only the Vault
# calls. Env: BAO_BIN (default: scripts/install-openbao.sh), E2E_BIN (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds="${1:-7}"
. crates/e2e/scripts/bench-common.sh

e2e_round() {
  local p=$1
  "$E2E_BIN" run --out "$work/out-$p" --root-ca-cert "$work/root.crt" --root-ca-key "$work/root.key" \
    --root-mount "$p-pki" --intermediate-mount "$p-istioca" --approle-mount "$p-approle" \
    --approle-role "$p-cm" --policy "$p-cm" >/dev/null 2>"$work/e2e-$p.log" \
    || { cat "$work/e2e-$p.log" >&2; exit 1; }
}

# One `bao` CLI call; its warnings go to a log (a failure stops the script, see the log).
b() { "$bao" "$@" 2>>"$work/bao-cli.log" || { tail -5 "$work/bao-cli.log" >&2; return 1; }; }

bao_round() {
  local p=$1
  local d="$work/bao-$p"
  mkdir -p "$d"
  b secrets enable -path="$p-pki" pki >/dev/null
  b secrets tune -max-lease-ttl=87600h "$p-pki" >/dev/null
  b write "$p-pki/config/ca" pem_bundle=@"$work/bundle.pem" >/dev/null
  b secrets enable -path="$p-istioca" pki >/dev/null
  b secrets tune -max-lease-ttl=43800h "$p-istioca" >/dev/null
  b write -format=json "$p-istioca/intermediate/generate/exported" common_name="Istio Intermediate CA" \
    ttl=43800h >"$d/gen.json"
  jq -r .data.csr "$d/gen.json" >"$d/istioca.csr"
  jq -r .data.private_key "$d/gen.json" >"$d/istioca.key"
  b write -format=json "$p-pki/root/sign-intermediate" csr=@"$d/istioca.csr" format=pem_bundle \
    ttl=43800h >"$d/sign.json"
  jq -r .data.certificate "$d/sign.json" >"$d/istioca.crt"
  b write "$p-istioca/intermediate/set-signed" certificate=@"$d/istioca.crt" >/dev/null
  b write "$p-istioca/roles/cluster-local" allowed_domains=svc allow_subdomains=true max_ttl=720h \
    require_cn=false allowed_uri_sans="spiffe://cluster.local/*" >/dev/null
  b auth enable -path="$p-approle" approle >/dev/null
  echo "path \"$p-istioca/sign/cluster-local\" { capabilities = [\"update\"] }" | b policy write "$p-cm" - >/dev/null
  b write "auth/$p-approle/role/$p-cm" token_policies="$p-cm" token_ttl=1h token_max_ttl=4h >/dev/null
  b read -field=role_id "auth/$p-approle/role/$p-cm/role-id" >"$d/role-id"
  b write -f -field=secret_id "auth/$p-approle/role/$p-cm/secret-id" >"$d/secret-id"
}

e2e_times=() bao_times=() ratios=()
# One warm-up round each (page cache, first-connection costs), not counted.
e2e_round w0; bao_round w1
for i in $(seq "$rounds"); do
  t0=$(now); e2e_round "e$i"; t1=$(now)
  bao_round "b$i"; t2=$(now)
  e2e_times+=("$(echo "$t1 - $t0" | bc -l)")
  bao_times+=("$(echo "$t2 - $t1" | bc -l)")
  ratios+=("$(echo "($t1 - $t0) / ($t2 - $t1)" | bc -l)")
done

me=$(median "${e2e_times[@]}")
mb=$(median "${bao_times[@]}")
printf 'rounds: %s; machine: %s cores, load average %s\n' "$rounds" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'e2e run (release, whole flow incl. files + verification): median %.3f s  [%s]\n' "$me" "$(printf '%.3f ' "${e2e_times[@]}")"
printf 'bao CLI (14 calls, Vault steps only):                       median %.3f s  [%s]\n' "$mb" "$(printf '%.3f ' "${bao_times[@]}")"
printf 'ratio of medians (e2e / bao CLI): %.3f (target <= 0.15)\n' "$(echo "$me / $mb" | bc -l)"
printf 'per-round ratios: min %.3f, median %.3f, max %.3f  [%s]\n' \
  "$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)" "$(median "${ratios[@]}")" \
  "$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)" "$(printf '%.3f ' "${ratios[@]}")"
