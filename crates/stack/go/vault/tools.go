//go:build tools

// Package tools pins github.com/hashicorp/vault in this wrapper module: build-stack.sh runs
// `go build github.com/hashicorp/vault` here (the `vault` server binary), the HashiCorp Vault
// side of the vault-pki / e2e server matrix beside OpenBao.
package tools

import (
	_ "github.com/hashicorp/vault"
)
