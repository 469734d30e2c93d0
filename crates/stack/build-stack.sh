#!/usr/bin/env bash
# Builds the real Kubernetes-side servers of the local test stack from the Go module proxy, into
# a cache folder outside the clone keyed by component and version, and links them into one bin
# dir. Re-running skips what is built already (a stamp records the hash of the inputs).
#
#   crates/stack/build-stack.sh     # progress on stderr; prints the bin dir on stdout
#
# Components (see crates/stack/README.md for why each is built the way it is):
#   etcd                      go.etcd.io/etcd/server/v3            (wrapper go/etcd)
#   kube-apiserver            k8s.io/kubernetes cmd/kube-apiserver (wrapper go/kube-apiserver)
#   cert-manager-controller   github.com/cert-manager/cert-manager (wrapper go/cert-manager-controller)
#   pilot-discovery (istiod)  istio.io/istio pilot/cmd/pilot-discovery (wrapper go/istiod)
#   pilot-agent               istio.io/istio pilot/cmd/pilot-agent (the same wrapper)
#   istio-csr                 github.com/cert-manager/istio-csr ./cmd v0.17.0: from the module proxy
#                             (`go install`, what a user's machine does), else from the source tree
#                             ISTIO_CSR_SRC (default: ../shared/third_party/istio-csr-v0.17.0 beside
#                             the clone), copied into the cache and built there
#   helm                      helm.sh/helm/v3 cmd/helm v3.22.0 (`go install`)
#   vault                     github.com/hashicorp/vault v1.21.0 (wrapper go/vault): HashiCorp
#                             Vault, the second server of vault-pki's and e2e's matrix beside
#                             OpenBao (`vault server -dev`); ~13 CPU-minutes, a 345 MB binary
#
# Each component says when it starts, how long a cold build takes on 2 cores, and every minute
# how long it has been building.
#
# Env: VMC_CACHE (default ~/.cache/vault-mesh-ca); the bin dir is $VMC_CACHE/stack/bin.
#      ISTIO_CSR_SRC: istio-csr's source tree at v0.17.0, for when the proxy refuses the module.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
stack_src="$here/go"
cache="${VMC_CACHE:-$HOME/.cache/vault-mesh-ca}/stack"
bin="$cache/bin"
mkdir -p "$bin"

command -v go >/dev/null || { echo "error: build-stack: 'go' is not on PATH (Go >= 1.26 is needed)" >&2; exit 1; }
export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"


export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { echo "build-stack: $*" >&2; }

# Runs a command (a long Go build) and says every minute that it still runs.
# with_progress NAME EXPECTED CMD...
with_progress() {
  local name="$1" expected="$2"; shift 2
  local t0=$SECONDS
  "$@" &
  local pid=$!
  while ! wait_for "$pid" 60; do
    log "$name: still building, $(( (SECONDS - t0) / 60 )) min elapsed (a cold build takes $expected)"
  done
  wait "$pid"
}

# Waits up to SECS seconds for PID to exit; true once it has.
wait_for() {
  local pid="$1" secs="$2" i
  for ((i = 0; i < secs; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 1
  done
  ! kill -0 "$pid" 2>/dev/null
}

# Hash of everything that decides a component's binary: its wrapper sources, flags, Go version.
inputs_hash() { # dir extra...
  local dir="$1"; shift
  { go version; echo "$GOFLAGS $(go env CGO_ENABLED)"; printf '%s\n' "$@"
    if [ -n "$dir" ]; then (cd "$dir" && cat go.mod go.sum *.go 2>/dev/null || true); fi
  } | sha256sum | cut -c1-16
}

# build NAME VERSION WRAPPER_DIR PACKAGE LDFLAGS EXPECTED
build() {
  local name="$1" version="$2" dir="$3" pkg="$4" ldflags="$5" expected="$6"
  local out="$cache/$name-$version" hash
  hash="$(inputs_hash "$dir" "$pkg" "$ldflags")"
  if [ -x "$out/$name" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$hash" ]; then
    log "$name $version: up to date ($out/$name)"
  else
    mkdir -p "$out"
    log "$name $version: building $pkg (a cold build takes $expected on 2 cores)..."
    local t0=$SECONDS
    (cd "$dir" && with_progress "$name" "$expected" go build -ldflags="$ldflags" -o "$out/$name.tmp" "$pkg") >&2
    mv -f "$out/$name.tmp" "$out/$name"
    echo "$hash" > "$out/.stamp"
    log "$name $version: built in $((SECONDS - t0))s, $(du -h "$out/$name" | cut -f1)"
  fi
  ln -sfn "$out/$name" "$bin/$name"
}

start=$SECONDS

ETCD_VERSION=v3.6.16
build etcd "$ETCD_VERSION" "$stack_src/etcd" . "-s -w" "about 1 to 2 min"

KUBE_VERSION=v1.36.3
kv="${KUBE_VERSION#v}"
build kube-apiserver "$KUBE_VERSION" "$stack_src/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
  "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=${kv%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$kv" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean" \
  "about 7 min"

CERT_MANAGER_VERSION=v1.21.1
build cert-manager-controller "$CERT_MANAGER_VERSION" "$stack_src/cert-manager-controller" . \
  "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION" \
  "about 3 min"

# istiod: the Istio CA server (Kubernetes RA mode) the stack runs where istio-csr cannot be had.
# istio.io/istio publishes no semver tags as a module: the version is the proxy's newest pseudo-version.
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
build pilot-discovery "$ISTIO_VERSION" "$stack_src/istiod" istio.io/istio/pilot/cmd/pilot-discovery \
  "-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION -X istio.io/istio/pkg/version.buildStatus=Clean" \
  "about 7 min"
# pilot-agent: Istio's own agent (what a sidecar runs), the CA client of the workload test;
# same module and wrapper, so nearly every package comes from the build cache.
build pilot-agent "$ISTIO_VERSION" "$stack_src/istiod" istio.io/istio/pilot/cmd/pilot-agent \
  "-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION -X istio.io/istio/pkg/version.buildStatus=Clean" \
  "about 1 min after istiod"

# go install MODULE/PKG@VERSION into the cache as NAME (no wrapper module): for modules without
# replace directives. Returns non-zero when the proxy refuses the module or the build fails.
# install NAME VERSION MODULE_PKG LDFLAGS EXPECTED
install() {
  local name="$1" version="$2" pkg="$3" ldflags="$4" expected="$5"
  local out="$cache/$name-$version" t0=$SECONDS
  mkdir -p "$out"
  log "$name $version: go install $pkg@$version (a cold build takes $expected on 2 cores)..."
  # `go install pkg@version` ignores the local module, so -mod=readonly does not apply.
  if GOBIN="$out/gobin" GOFLAGS="-trimpath -buildvcs=false" \
      with_progress "$name" "$expected" go install -ldflags="$ldflags" "$pkg@$version" 2>"$out/install.log"; then
    mv -f "$out/gobin/$(basename "$pkg")" "$out/$name"
    rmdir "$out/gobin" 2>/dev/null || true
    log "$name $version: built in $((SECONDS - t0))s, $(du -h "$out/$name" | cut -f1)"
    ln -sfn "$out/$name" "$bin/$name"
  else
    return 1
  fi
}

# istio-csr: what a user's machine does first is `go install` from the module proxy; the proxy
# used here refuses the module (403), and then the source tree at the same tag is built.
ISTIO_CSR_VERSION=v0.17.0
ISTIO_CSR_SRC="${ISTIO_CSR_SRC:-$repo/../shared/third_party/istio-csr-$ISTIO_CSR_VERSION}"
istio_out="$cache/istio-csr-$ISTIO_CSR_VERSION"
if [ -x "$istio_out/istio-csr" ] && [ ! -f "$istio_out/.stamp" ]; then
  log "istio-csr $ISTIO_CSR_VERSION: up to date ($istio_out/istio-csr, from the module proxy)"
  ln -sfn "$istio_out/istio-csr" "$bin/istio-csr"
elif [ ! -x "$istio_out/istio-csr" ] && install istio-csr "$ISTIO_CSR_VERSION" github.com/cert-manager/istio-csr/cmd "-s -w" "about 4 min"; then
  :
else
  if [ -f "$istio_out/install.log" ]; then
    log "istio-csr $ISTIO_CSR_VERSION: the module proxy refused it ($(grep -m1 -oE '[0-9]{3} [A-Za-z ]+' "$istio_out/install.log" || echo 'see '"$istio_out/install.log")); building the source tree $ISTIO_CSR_SRC"
    rm -f "$istio_out/install.log"
  fi
  if [ ! -f "$ISTIO_CSR_SRC/go.mod" ] || [ ! -d "$ISTIO_CSR_SRC/cmd" ]; then
    log "error: istio-csr $ISTIO_CSR_VERSION: no source tree at $ISTIO_CSR_SRC; set ISTIO_CSR_SRC to istio-csr's source at tag $ISTIO_CSR_VERSION (the project keeps one in shared/third_party/istio-csr-$ISTIO_CSR_VERSION, see its PROVENANCE.md)"
    exit 1
  fi
  # Built in a copy: the shared tree may be read-only, and the stamp then follows its content.
  src_copy="$cache/istio-csr-src-$ISTIO_CSR_VERSION"
  if ! diff -rq "$ISTIO_CSR_SRC" "$src_copy" >/dev/null 2>&1; then
    rm -rf "$src_copy"
    cp -R "$ISTIO_CSR_SRC" "$src_copy"
    chmod -R u+w "$src_copy"
  fi
  build istio-csr "$ISTIO_CSR_VERSION" "$src_copy" ./cmd "-s -w" "about 4 min"
fi

# helm: the chart installer `e2e run --kubeconfig` calls for istio-csr.
HELM_VERSION=v3.22.0
if [ -x "$cache/helm-$HELM_VERSION/helm" ]; then
  log "helm $HELM_VERSION: up to date ($cache/helm-$HELM_VERSION/helm)"
  ln -sfn "$cache/helm-$HELM_VERSION/helm" "$bin/helm"
elif ! install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
    "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "about 2 min"; then
  log "error: helm $HELM_VERSION could not be built; see $cache/helm-$HELM_VERSION/install.log"
  tail -5 "$cache/helm-$HELM_VERSION/install.log" >&2 || true
  exit 1
fi

# vault: HashiCorp Vault itself, for the server matrix. Its go.mod replaces api/sdk with in-tree
# folders that a dependent ignores, so the published sdk it requires is used: v1.21.0 (sdk
# v0.20.0) builds, v1.21.4 does not (its in-tree sdk matches no published sdk). The wrapper's
# go.mod comes from `go get github.com/hashicorp/vault@v1.21.0 && go mod tidy -e` (-e: some of
# Vault's test imports are not in the published sdk). Skip with VMC_SKIP_VAULT=1.
VAULT_VERSION=v1.21.0
if [ "${VMC_SKIP_VAULT:-0}" = 1 ]; then
  log "vault $VAULT_VERSION: skipped (VMC_SKIP_VAULT=1)"
else
  build vault "$VAULT_VERSION" "$stack_src/vault" github.com/hashicorp/vault "-s -w" "about 13 CPU-minutes (24 min measured on 2 shared cores)"
fi

log "done in $((SECONDS - start))s; cache $(du -sh "$cache" | cut -f1) in $cache"
echo "$bin"
