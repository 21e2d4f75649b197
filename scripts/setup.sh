#!/usr/bin/env bash
# Make a clone ready to run: node_modules matching package-lock.json, the Temporal CLI, dist/
# (`npm run build`, skipped when it was built from the current sources), and moto's EC2 API server for
# the EC2 suites (CONVERGE_SKIP_MOTO=1 leaves it out; those suites then skip).
# Needs network only for what is missing (the npm registry, the Go module proxy, PyPI).
# Run it (do not source it); callers then take the binary from `bash scripts/temporal.sh`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

lock_hash() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum package-lock.json | cut -d' ' -f1
  else
    shasum -a 256 package-lock.json | cut -d' ' -f1
  fi
}

stamp=node_modules/.converge-lock-sha256
want="$(lock_hash)"

# npm writes node_modules/.package-lock.json on every install; a tree without our stamp whose hidden
# lockfile is not older than package-lock.json was installed from this lock (e.g. by hand), so it is
# adopted rather than wiped by a needless `npm ci`.
if [[ ! -d node_modules ]]; then
  reason="node_modules is missing"
elif [[ -f "$stamp" ]]; then
  if [[ "$(cat "$stamp")" == "$want" ]]; then
    reason=""
  else
    reason="package-lock.json changed since the last install"
  fi
elif [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
  printf '%s\n' "$want" >"$stamp"
  reason=""
else
  reason="node_modules does not match package-lock.json"
fi

if [[ -n "$reason" ]]; then
  echo "setup: $reason; running npm ci" >&2
  # npm ci installs exactly what package-lock.json says, or fails: a lock out of sync with
  # package.json is a bug to fix in the repository, not something to paper over here.
  if ! npm ci --no-audit --no-fund; then
    echo "setup: npm ci failed; run 'npm install' and commit package-lock.json" >&2
    exit 1
  fi
  printf '%s\n' "$want" >"$stamp"
fi

temporal_cli="$(bash scripts/temporal.sh)"
node scripts/build.mjs --if-stale
echo "setup: node_modules ok; dist/ current; temporal CLI at $temporal_cli" >&2
if [[ "${CONVERGE_SKIP_MOTO:-}" == 1 ]]; then
  echo "setup: CONVERGE_SKIP_MOTO=1: moto not installed, the EC2 suites skip" >&2
else
  echo "setup: moto_server at $(bash scripts/moto.sh)" >&2
fi
