#!/usr/bin/env bash
# `npm run demo`: from a fresh clone to a deployment you can watch in the Temporal UI.
# Installs what is missing, starts the embedded stack (Temporal dev server, region, worker),
# deploys examples/manifest.yml, then examples/manifest-v2.yml (stemcell 1.181 → 1.182, hot_swap),
# prints the status table and the UI link, and leaves the stack running.
# `npm run demo -- --cloud ec2`: the same against a local moto (EC2's API): the worker computes on
# EC2 through the AWS SDK, quota stays in the region's ledger.
set -euo pipefail

cloud=region
if [[ "${1:-}" == "--cloud" && -n "${2:-}" ]]; then cloud="$2"; fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The demo talks to the local stack, whatever Temporal settings this shell carries.
export TEMPORAL_ADDRESS="127.0.0.1:${CONVERGE_TEMPORAL_PORT:-7233}"
unset TEMPORAL_API_KEY TEMPORAL_TLS TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH \
  TEMPORAL_TLS_SERVER_CA_CERT_PATH TEMPORAL_TLS_SERVER_NAME
ui="http://127.0.0.1:${CONVERGE_UI_PORT:-8233}/namespaces/${TEMPORAL_NAMESPACE:-default}/workflows"

step=""
on_error() {
  echo >&2
  echo "demo: failed during: $step" >&2
  echo "  logs: .converge/temporal.log .converge/region.log .converge/worker.log (.converge/moto.log)" >&2
  echo "  the stack (if it started) is still running: npx converge dev down stops it" >&2
}
trap on_error ERR

converge() { node bin/converge.mjs "$@"; }
banner() {
  step="$*"
  printf '\n\033[1m== %s\033[0m\n' "$*"
}

banner "setup (npm ci when needed, the Temporal CLI)"
bash scripts/setup.sh

cc=examples/cloud-config.yml
if [[ "$cloud" == ec2 ]]; then cc="${CONVERGE_DEV_DIR:-.converge}/cloud-config-ec2.yml"; fi

banner "converge dev up --cloud $cloud"
converge dev up --cloud "$cloud"

banner "converge deploy examples/manifest.yml -c $cc"
converge deploy examples/manifest.yml -c "$cc" --cloud "$cloud"

banner "converge deploy examples/manifest-v2.yml (stemcell 1.181 → 1.182, hot_swap)"
converge deploy examples/manifest-v2.yml -c "$cc" --cloud "$cloud" --yes

banner "converge status -d web"
converge status -d web

trap - ERR
echo
echo "Temporal UI: $ui/deployment%2Fweb"
echo "             (operations: $ui?query=ConvergeDeployment%3D%22web%22)"
echo "The stack keeps running. Stop it with: npx converge dev down"
