#!/usr/bin/env bash
# moto's EC2 API server (PyPI moto[server], pinned) in a virtual environment in the per-user cache,
# beside the Temporal CLI: installed the first time only, reused by every clone and CI run after.
# Prints the moto_server path.
set -euo pipefail

version=5.2.5
venv="${CONVERGE_CACHE_DIR:-$HOME/.cache/converge}/moto-$version"
server="$venv/bin/moto_server"
# Written only after pip succeeded: a half-done install (killed, offline) is redone, not trusted.
done_stamp="$venv/.installed"

if [[ ! -f "$done_stamp" || ! -x "$server" ]]; then
  python="$(command -v python3 || command -v python || true)"
  if [[ -z "$python" ]]; then
    echo "moto: python3 is needed to install moto[server]==$version" >&2
    exit 1
  fi
  echo "moto: installing moto[server]==$version into $venv (first time only)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version" >&2
  touch "$done_stamp"
fi
echo "$server"
