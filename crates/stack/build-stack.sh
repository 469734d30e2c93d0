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
#   istio-csr                 github.com/cert-manager/istio-csr ./cmd (optional: the proxy refuses it here)
#
# Env: VMC_CACHE (default ~/.cache/vault-mesh-ca); the bin dir is $VMC_CACHE/stack/bin.
#      STACK_REQUIRE_ISTIO_CSR=1 makes an istio-csr build failure fatal (default: warn and go on).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
stack_src="$here/go"
cache="${VMC_CACHE:-$HOME/.cache/vault-mesh-ca}/stack"
bin="$cache/bin"
mkdir -p "$bin"

command -v go >/dev/null || { echo "error: build-stack: 'go' is not on PATH (Go >= 1.26 is needed)" >&2; exit 1; }
export GOFLAGS="-trimpath -buildvcs=false -mod=readonly"


export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { echo "build-stack: $*" >&2; }

# Hash of everything that decides a component's binary: its wrapper sources, flags, Go version.
inputs_hash() { # dir extra...
  local dir="$1"; shift
  { go version; echo "$GOFLAGS $(go env CGO_ENABLED)"; printf '%s\n' "$@"
    if [ -n "$dir" ]; then (cd "$dir" && cat go.mod go.sum *.go 2>/dev/null || true); fi
  } | sha256sum | cut -c1-16
}

# build NAME VERSION WRAPPER_DIR PACKAGE LDFLAGS
build() {
  local name="$1" version="$2" dir="$3" pkg="$4" ldflags="$5"
  local out="$cache/$name-$version" hash
  hash="$(inputs_hash "$dir" "$pkg" "$ldflags")"
  if [ -x "$out/$name" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$hash" ]; then
    log "$name $version: up to date ($out/$name)"
  else
    mkdir -p "$out"
    log "$name $version: building $pkg (cold builds take minutes on 2 cores)..."
    local t0=$SECONDS
    (cd "$dir" && go build -ldflags="$ldflags" -o "$out/$name.tmp" "$pkg") >&2
    mv -f "$out/$name.tmp" "$out/$name"
    echo "$hash" > "$out/.stamp"
    log "$name $version: built in $((SECONDS - t0))s, $(du -h "$out/$name" | cut -f1)"
  fi
  ln -sfn "$out/$name" "$bin/$name"
}

start=$SECONDS

ETCD_VERSION=v3.6.16
build etcd "$ETCD_VERSION" "$stack_src/etcd" . "-s -w"

KUBE_VERSION=v1.36.3
kv="${KUBE_VERSION#v}"
build kube-apiserver "$KUBE_VERSION" "$stack_src/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
  "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=${kv%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$kv" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"

CERT_MANAGER_VERSION=v1.21.1
build cert-manager-controller "$CERT_MANAGER_VERSION" "$stack_src/cert-manager-controller" . \
  "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION"

# istiod: the Istio CA server (Kubernetes RA mode) the stack runs where istio-csr cannot be had.
# istio.io/istio publishes no semver tags as a module: the version is the proxy's newest pseudo-version.
ISTIO_VERSION=v0.0.0-20260827124520-eed52ebb66ad
build pilot-discovery "$ISTIO_VERSION" "$stack_src/istiod" istio.io/istio/pilot/cmd/pilot-discovery \
  "-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION -X istio.io/istio/pkg/version.buildStatus=Clean"

# istio-csr has no replace directives, so `go install module/pkg@version` builds it without a
# wrapper. The module proxy used here answers 403 for every istio-csr version: warn and go on
# unless STACK_REQUIRE_ISTIO_CSR=1.
ISTIO_CSR_VERSION=v0.17.0
istio_out="$cache/istio-csr-$ISTIO_CSR_VERSION"
if [ -x "$istio_out/istio-csr" ]; then
  log "istio-csr $ISTIO_CSR_VERSION: up to date ($istio_out/istio-csr)"
  ln -sfn "$istio_out/istio-csr" "$bin/istio-csr"
else
  mkdir -p "$istio_out"
  log "istio-csr $ISTIO_CSR_VERSION: building github.com/cert-manager/istio-csr/cmd..."
  t0=$SECONDS
  if GOBIN="$istio_out/gobin" GOFLAGS="-trimpath -buildvcs=false" \
      go install -ldflags="-s -w" "github.com/cert-manager/istio-csr/cmd@$ISTIO_CSR_VERSION" >&2; then
    mv -f "$istio_out/gobin/cmd" "$istio_out/istio-csr" && rmdir "$istio_out/gobin" 2>/dev/null || true
    log "istio-csr $ISTIO_CSR_VERSION: built in $((SECONDS - t0))s"
    ln -sfn "$istio_out/istio-csr" "$bin/istio-csr"
  else
    rm -f "$bin/istio-csr"
    if [ "${STACK_REQUIRE_ISTIO_CSR:-0}" = 1 ]; then
      log "error: istio-csr $ISTIO_CSR_VERSION could not be fetched or built (see above)"
      exit 1
    fi
    log "warning: istio-csr $ISTIO_CSR_VERSION could not be fetched or built (see above); the stack runs without it"
  fi
fi

log "done in $((SECONDS - start))s; cache $(du -sh "$cache" | cut -f1) in $cache"
echo "$bin"
