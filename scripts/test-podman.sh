#!/usr/bin/env bash
# `npm run test:podman`: the engine-dependent test files again, on Podman. `npm run setup` with
# TITAN_ENGINE=podman and a state directory of its own (.titan/podman unless TITAN_PODMAN_STATE_DIR
# says otherwise) installs Podman when it may, starts Podman's API service there (or reuses the one an
# earlier run started) and builds the runtime images in its storage; then the files below run with
# DOCKER_HOST pointing at it. The service keeps running afterwards, as setup's engines do; it is
# recorded in <state>/engine.json (.ci/run stops it). Arguments replace the list of test files.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
STATE_DIR=${TITAN_PODMAN_STATE_DIR:-$PWD/.titan/podman}

# The sandbox, pools, invocations, time-outs and memory kills, deployment, and event triggers: what
# touches the engine's behaviour rather than the gateway's own logic. Plus the ulimits' security test.
FILES=(
  test/integration/sandbox.test.ts
  test/security/sandbox.test.ts
  test/security/ulimits.test.ts
  test/integration/pool.test.ts
  test/integration/invoke.test.ts
  test/integration/deploy.test.ts
  test/integration/events.test.ts
)
(($# > 0)) && FILES=("$@")

t0=$SECONDS
# DOCKER_HOST is the test run's to set: setup must find (or start) Podman, not whatever it names.
env -u DOCKER_HOST TITAN_ENGINE=podman TITAN_STATE_DIR="$STATE_DIR" npm run setup --silent
# The Podman setup found or started (a system one at Podman's usual sockets comes before starting one).
host=$(env -u DOCKER_HOST TITAN_ENGINE=podman TITAN_STATE_DIR="$STATE_DIR" npx tsx --eval \
  "import('./runtime/engine/locate.ts').then(async (m) => console.log((await m.locateEngine(process.env.TITAN_STATE_DIR))?.host ?? ''))")
[[ -n $host ]] || { echo "no Podman answers after setup (see $STATE_DIR/engine/podman.log)" >&2; exit 1; }
echo "==> podman setup took $((SECONDS - t0)) s; engine for the tests: $host"

t0=$SECONDS
status=0
DOCKER_HOST=$host TITAN_ENGINE=podman npx tsx --test "${FILES[@]}" || status=$?
echo "==> podman tests took $((SECONDS - t0)) s (exit status $status)"
exit "$status"
