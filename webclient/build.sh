#!/usr/bin/env bash
# Build the Carebridge web client (webclient/dist/). Idempotent and cheap to re-run:
#  - `npm ci` only when node_modules is missing or older than package-lock.json;
#  - the esbuild step only when a source, the lock file or the installed packages
#    changed since the last successful build (FORCE=1 rebuilds anyway).
# Needs node >= 18 and npm; reaches only the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v npm >/dev/null 2>&1; then
    echo "webclient/build.sh: npm is not installed (apt-get install nodejs npm)" >&2
    exit 1
fi

installed_marker="node_modules/.package-lock.json"
if [[ ! -f "$installed_marker" || package-lock.json -nt "$installed_marker" ]]; then
    echo "webclient: installing npm packages from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$installed_marker"
fi

stamp="dist/.built"
if [[ "${FORCE:-0}" != "1" && -f "$stamp" && -f dist/index.html ]] \
    && [[ -z "$(find src static build.mjs package.json package-lock.json "$installed_marker" -newer "$stamp" -print -quit)" ]]; then
    echo "webclient: dist/ is up to date"
    exit 0
fi

npm run --silent build
touch "$stamp"
