#!/usr/bin/env bash
# Vendors the web app's third-party libraries from the npm registry into static/vendor/<name>-<version>/, with
# their licence and a SHA256SUMS file (checked by tests/test_vendor.py). Run it to add or upgrade one; commit
# the result. No CDN is used at run time and no build step is needed.
set -euo pipefail
cd "$(dirname "$0")"

vendor() {  # vendor <npm package> <version> <file in the package>...
  local package=$1 version=$2; shift 2
  local target="${package}-${version}" work
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "${package}@${version}" >/dev/null && tar -xzf ./*.tgz)
  rm -rf "$target" && mkdir -p "$target"
  for file in "$@" LICENSE*; do
    for found in "$work"/package/$file; do cp "$found" "$target/"; done
  done
  (cd "$target" && sha256sum -- * | grep -v SHA256SUMS > SHA256SUMS)
  rm -rf "$work"
}

vendor chart.js 4.6.1 dist/chart.umd.min.js
vendor drawflow 0.0.60 dist/drawflow.min.js dist/drawflow.min.css
