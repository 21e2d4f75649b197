#!/usr/bin/env bash
# Resolve the Temporal CLI (the dev server binary) and print its path.
#
#   bash scripts/temporal.sh            # prints the path, installing the CLI once if needed
#   source scripts/temporal.sh && converge_temporal_cli   # same, as a function
#
# Order: $TEMPORAL_CLI, `temporal` on PATH, the per-user cache
# ${XDG_CACHE_HOME:-$HOME/.cache}/converge/bin/temporal, a clone-local .tools/bin/temporal,
# else `go install` v1.5.1 into the cache. v1.5.1 is pinned because later tags carry a replace
# directive and cannot be go-installed. The cache lives outside the clone so that fresh clones and
# CI reuse one binary instead of rebuilding it (~4.5 min on 2 cores).
# Progress goes to stderr; stdout carries only the path.

CONVERGE_TEMPORAL_VERSION="${CONVERGE_TEMPORAL_VERSION:-v1.5.1}"

converge_temporal_cli() {
  local cache_bin="${XDG_CACHE_HOME:-$HOME/.cache}/converge/bin"
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

  if [[ -n "${TEMPORAL_CLI:-}" ]]; then
    if [[ -x "$TEMPORAL_CLI" ]]; then
      printf '%s\n' "$TEMPORAL_CLI"
      return 0
    fi
    echo "temporal.sh: TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file" >&2
    return 1
  fi

  local on_path
  if on_path="$(command -v temporal 2>/dev/null)" && [[ -n "$on_path" ]]; then
    printf '%s\n' "$on_path"
    return 0
  fi

  local candidate
  for candidate in "$cache_bin/temporal" "$here/.tools/bin/temporal"; do
    if [[ -x "$candidate" ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done

  if ! command -v go >/dev/null 2>&1; then
    echo "temporal.sh: no Temporal CLI found and no Go toolchain to build one." >&2
    echo "  Install Go (https://go.dev/dl/) or the Temporal CLI (https://docs.temporal.io/cli)," >&2
    echo "  or point TEMPORAL_CLI at an existing binary." >&2
    return 1
  fi

  mkdir -p "$cache_bin"
  echo "temporal.sh: building the Temporal CLI $CONVERGE_TEMPORAL_VERSION into $cache_bin" >&2
  echo "  (go install github.com/temporalio/cli/cmd/temporal@$CONVERGE_TEMPORAL_VERSION; a few minutes, once per machine)" >&2
  if ! GOBIN="$cache_bin" go install "github.com/temporalio/cli/cmd/temporal@$CONVERGE_TEMPORAL_VERSION" >&2; then
    echo "temporal.sh: go install failed (network access to the Go module proxy is required)" >&2
    return 1
  fi
  echo "temporal.sh: installed $cache_bin/temporal" >&2
  printf '%s\n' "$cache_bin/temporal"
}

# Executed (not sourced): print the path.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  converge_temporal_cli
fi
