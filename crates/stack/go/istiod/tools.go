//go:build tools

// Package tools pins istio.io/istio in this wrapper module: build-stack.sh runs
// `go build istio.io/istio/pilot/cmd/pilot-discovery` here (istiod, Istio's control plane),
// which the stack starts as the Istio CA in its Kubernetes RA mode, and
// `go build istio.io/istio/pilot/cmd/pilot-agent` (Istio's agent, the CA client a sidecar runs).
package tools

import (
	_ "istio.io/istio/pilot/cmd/pilot-agent"
	_ "istio.io/istio/pilot/cmd/pilot-discovery"
)
