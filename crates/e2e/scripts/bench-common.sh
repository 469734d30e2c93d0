# Shared by the bench scripts (sourced): the e2e binary, a local OpenBao dev server on a free
# port (its root token through the environment, never a flag), a root CA fixture, `now` and
# `median`. Sets: bao, E2E_BIN, work, VAULT_ADDR, VAULT_TOKEN, BAO_ADDR, BAO_TOKEN.
bao="${BAO_BIN:-$(scripts/install-openbao.sh)}"
if [ -z "${E2E_BIN:-}" ]; then
  cargo build --release -q -p e2e --bin e2e
  E2E_BIN="${CARGO_TARGET_DIR:-target}/release/e2e"
fi
work=$(mktemp -d)
trap 'kill "$bao_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# A dev server on a free port, with its own HOME (it writes ~/.vault-token).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="bench-$RANDOM$RANDOM"
# The root token goes through the environment: a flag would be visible in `ps`.
HOME="$work" BAO_DEV_ROOT_TOKEN_ID="$token" "$bao" server -dev -dev-listen-address="127.0.0.1:$port" \
  >"$work/bao.log" 2>&1 &
bao_pid=$!
export VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN="$token" BAO_ADDR="http://127.0.0.1:$port" BAO_TOKEN="$token"
for _ in $(seq 100); do
  curl -sf "$VAULT_ADDR/v1/sys/health" >/dev/null && break
  sleep 0.1
done

# The given root CA (fixture: openssl, P-256, CA:true).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=Bench Root" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$work/root.key" -out "$work/root.crt" 2>/dev/null
cat "$work/root.crt" "$work/root.key" >"$work/bundle.pem"

now() { date +%s.%N; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
