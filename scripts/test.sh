#!/usr/bin/env bash
# `npm test`: everything, in the order that fails fastest. Setup (node_modules, the Temporal CLI),
# type check, lint, then both vitest projects (unit, and integration on a real Temporal dev server
# started by test/integration/global-setup.ts). Every stage runs; the exit code is non-zero if any failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || { echo "test.sh: setup failed" >&2; exit 1; }
TEMPORAL_CLI="$(bash scripts/temporal.sh)" || exit 1
export TEMPORAL_CLI

failed=()
stage() {
  local name="$1"
  shift
  echo "── $name: $*" >&2
  local started=$SECONDS
  if "$@"; then
    echo "── $name: ok ($((SECONDS - started)) s)" >&2
  else
    echo "── $name: FAILED ($((SECONDS - started)) s)" >&2
    failed+=("$name")
  fi
}

stage typecheck npx tsc --noEmit
stage lint npx eslint .
stage layers npm run --silent lint:layers
stage vitest npx vitest run "$@"

if ((${#failed[@]} > 0)); then
  echo "test.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all passed" >&2
