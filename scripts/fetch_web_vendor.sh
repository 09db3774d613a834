#!/usr/bin/env bash
# Fetch the web UI's third-party browser libraries from npm, pinned, into
# src/banyan/server/web/vendor/ with their licenses and a VERSIONS file.
# Needs npm on the maintainer's machine only: the results are committed, so users need no node
# and the UI needs no CDN. Run it again after changing a version below, then run
# tests/test_browser.py.
set -euo pipefail

SIGMA=3.0.3                # WebGL renderer; dist/sigma.min.js is a UMD build (global `Sigma`)
GRAPHOLOGY=0.26.0          # graph model; dist/graphology.umd.min.js (global `graphology`)
GRAPHOLOGY_LIBRARY=0.8.0   # layouts (ForceAtlas2 + its web-worker supervisor), UMD (global `graphologyLibrary`)

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/src/banyan/server/web/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch NAME VERSION FILE-IN-PACKAGE OUTPUT-NAME
    local name="$1" version="$2" file="$3" out="$4"
    (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
    local tgz="$work/$name-$version.tgz"
    mkdir -p "$work/$name"
    tar -xzf "$tgz" -C "$work/$name"
    cp "$work/$name/package/$file" "$dest/$out"
    local license
    license="$(find "$work/$name/package" -maxdepth 1 -iname 'LICENSE*' | head -n 1)"
    if [[ -z "$license" ]]; then
        echo "error: $name@$version ships no LICENSE file; vendor it by hand with its license" >&2
        exit 1
    fi
    cp "$license" "$dest/LICENSE.$name.txt"
    printf '%s %s %s sha256:%s\n' "$name" "$version" "$out" "$(sha256sum "$dest/$out" | cut -d' ' -f1)" >> "$dest/VERSIONS.new"
}

mkdir -p "$dest"
rm -f "$dest/VERSIONS.new"
fetch sigma "$SIGMA" dist/sigma.min.js sigma.min.js
fetch graphology "$GRAPHOLOGY" dist/graphology.umd.min.js graphology.umd.min.js
fetch graphology-library "$GRAPHOLOGY_LIBRARY" dist/graphology-library.min.js graphology-library.min.js
{
    echo "# name version file sha256 -- written by scripts/fetch_web_vendor.sh; all MIT licensed"
    echo "# (sigma bundles the MIT 'events' and 'graphology-utils'; graphology-library bundles the"
    echo "# MIT graphology-* standard library packages, by the same authors as graphology)"
    cat "$dest/VERSIONS.new"
} > "$dest/VERSIONS"
rm -f "$dest/VERSIONS.new"
echo "vendored into $dest:"
cat "$dest/VERSIONS"
