#!/usr/bin/env bash
# Fresh-machine test (issue #20, `npm run test:fresh`, run by .ci/run): on a minimal Debian 12 made by
# debootstrap, with only this machine's Node.js and npm (and git, curl, CA certificates) added and a
# clone of this repository's HEAD, the README's quick start must work with no other step:
# `npm run setup && npm start`, the echo function answering 200, then `npm test`.
#
# The fresh system is a copy of that Debian as the root of a private mount namespace, with its own
# container engine (setup starts it, as for any user; no socket of this machine is visible) and its
# own loopback: `npm start` and `npm test` run in a new network namespace, so their ports cannot meet
# anything on this machine (the quick start's `&&` is therefore split: setup runs first, with this
# machine's network). Only debootstrap and setup reach out, to the Debian mirror and the npm registry
# this machine uses (TITAN_OFFLINE=1 inside: no image registry is tried). Needs root. Every step has a time limit; every process that ran inside (found by its mount
# namespace and parentage, never by name) is stopped and every mount unmounted, deepest first, before
# the copy is removed. The debootstrap result is cached outside the repository (TITAN_FRESH_CACHE,
# default /var/cache/titan-fresh), keyed by its recipe and the week.
#
# Environment: TITAN_FRESH_TIMEOUT_SEC (whole run, default 1200), TITAN_FRESH_TEST_CMD (default
# `npm test`), TITAN_FRESH_KEEP=1 (keep the copy for a look; processes and mounts are still cleaned).
# The functions below run from the EXIT trap, which shellcheck 0.9 takes for unreachable code.
# shellcheck disable=SC2317
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=bookworm
# What a fresh Debian machine of this kind has besides Node.js: git to clone, curl for the README's
# example call, CA certificates. Deliberately no python3, redis, docker or chromium: setup installs them.
INCLUDE=ca-certificates,git,curl
CACHE_ROOT=${TITAN_FRESH_CACHE:-/var/cache/titan-fresh}
TEST_CMD=${TITAN_FRESH_TEST_CMD:-npm test}
BUDGET_SEC=${TITAN_FRESH_TIMEOUT_SEC:-1200}
# Where the clone lives inside: short, as unix socket paths under it are limited to 107 bytes.
APP=/root/titan-functions
STARTED=$SECONDS

WORK=''
R=''
HOLDER=''
MNT_NS=''
STEP_NAMES=()
STEP_SECS=()
STEP_RESULTS=()

say() { printf '[fresh] %s\n' "$*"; }
die() { say "FAILED: $*" >&2; exit 1; }

# step NAME MAX_SEC COMMAND...: runs the command (or an exported function) under `timeout`, within
# what is left of the whole run's budget, and records how long it took.
step() {
  local name=$1 max=$2 t0=$SECONDS status=0 lim
  shift 2
  lim=$((BUDGET_SEC - (SECONDS - STARTED)))
  ((lim > 5)) || die "out of time before '$name': the whole run may take ${BUDGET_SEC} s (TITAN_FRESH_TIMEOUT_SEC)"
  ((lim < max)) || lim=$max
  say "── $name (limit ${lim} s)"
  timeout --kill-after=15 "$lim" bash -c 'set -euo pipefail; "$@"' step "$@" || status=$?
  STEP_NAMES+=("$name")
  STEP_SECS+=($((SECONDS - t0)))
  STEP_RESULTS+=("$([[ $status == 0 ]] && echo ok || { [[ $status == 124 ]] && echo "timed out" || echo "exit $status"; })")
  ((status == 0)) || die "$name: $([[ $status == 124 ]] && echo "did not finish within ${lim} s" || echo "exited with status $status")"
}

# ---------------------------------------------------------------------------------------------
# Inside the fresh system

# A clean environment: nothing of this machine's (DOCKER_HOST, REDIS_URL, CI, ...) leaks in, except
# the CA settings npm and git need to trust this machine's registry path. TITAN_OFFLINE=1 (the
# README's setting for machines without an image registry) keeps setup from trying Docker Hub: the
# only traffic out is to the Debian mirror and the npm registry.
fresh_env() {
  local v
  printf '%s\n' PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root LANG=C.UTF-8 TERM=dumb TITAN_OFFLINE=1
  for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE GIT_SSL_CAINFO REQUESTS_CA_BUNDLE; do
    [[ -n ${!v:-} && -e $R${!v} ]] && printf '%s=%s\n' "$v" "${!v}"
  done
  return 0
}

# inside SCRIPT: bash in the fresh system (its mount namespace and root), in the clone, with this
# machine's network: setup needs the Debian mirror and the npm registry.
inside() {
  local env
  mapfile -t env < <(fresh_env)
  nsenter --target "$HOLDER" --mount --root --wd -- /usr/bin/env -i "${env[@]}" /bin/bash -euo pipefail -c "cd $APP && $1"
}

# isolated SCRIPT: the same in a new network namespace holding only loopback (brought up with this
# machine's `ip`, before entering: the fresh system has none).
isolated() {
  local env
  mapfile -t env < <(fresh_env)
  unshare --net -- /bin/sh -c 'ip link set lo up && exec "$@"' sh \
    nsenter --target "$HOLDER" --mount --root --wd -- /usr/bin/env -i "${env[@]}" /bin/bash -euo pipefail -c "cd $APP && $1"
}

# ---------------------------------------------------------------------------------------------
# Cleanup: processes, then mounts (deepest first), then the copy

# Pids in the fresh system's mount namespace, and all their descendants (the inner engine's
# containers have namespaces of their own, but are children of the shims that run inside). Not
# /proc/PID/root: after pivot_root it reads "/" from here.
inner_pids() {
  [[ -n $MNT_NS ]] || return 0
  local d pid stat rest ppid
  local -A parent=() found=()
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    stat=$(cat "$d/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    read -r _ ppid _ <<<"$rest"
    parent[$pid]=$ppid
    [[ $(readlink "$d/ns/mnt" 2>/dev/null) == "$MNT_NS" && $pid != "$HOLDER" ]] && found[$pid]=1
  done
  local grew=1
  while ((grew)); do
    grew=0
    for pid in "${!parent[@]}"; do
      if [[ -z ${found[$pid]:-} && -n ${found[${parent[$pid]}]:-} ]]; then
        found[$pid]=1
        grew=1
      fi
    done
  done
  ((${#found[@]} == 0)) || printf '%s\n' "${!found[@]}"
}

# Stops every inner process: the engine first (a clean stop stops its containers and its containerd).
# Containers still there were left by the tests: named, as a clean machine is where that shows.
stop_inner() {
  local pid i pids host left
  pid=$(sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$R$APP/.titan/engine.json" 2>/dev/null)
  if [[ -n $pid && $(readlink "/proc/$pid/ns/mnt" 2>/dev/null) == "$MNT_NS" ]]; then
    host=$(sed -n 's/^ *"host": *"\([^"]*\)".*/\1/p' "$R$APP/.titan/engine.json")
    left=$(timeout 20 nsenter --target "$HOLDER" --mount --root -- /usr/bin/env -i PATH=/usr/bin:/bin DOCKER_HOST="$host" \
      docker ps -a --format '{{.Names}} ({{.Status}}; function {{.Label "titan.function"}}, scope {{.Label "titan.scope"}})' 2>&1)
    [[ -z $left ]] || say "containers left on the inner engine when the tests ended:"$'\n'"$left"
    say "stopping the inner dockerd (pid $pid)"
    local t0=$SECONDS
    kill -TERM "$pid"
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    say "inner dockerd $(kill -0 "$pid" 2>/dev/null && echo "still running after" || echo "stopped in") $((SECONDS - t0)) s"
  fi
  mapfile -t pids < <(inner_pids)
  ((${#pids[@]})) || return 0
  say "stopping ${#pids[@]} processes left inside: ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null
  for ((i = 0; i < 25; i++)); do
    mapfile -t pids < <(inner_pids)
    ((${#pids[@]})) || return 0
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null
  sleep 1
}

cleanup() {
  local status=$? i pids mounts left
  set +e
  trap - INT TERM
  if [[ -n $HOLDER ]]; then
    say "── cleanup"
    local t0=$SECONDS
    stop_inner
    mapfile -t pids < <(inner_pids)
    ((${#pids[@]})) && { say "processes still inside after SIGKILL: ${pids[*]}" >&2; status=1; }
    # Unmount inside the namespace, deepest first; then the holder goes and the namespace with it.
    if kill -0 "$HOLDER" 2>/dev/null; then
      mapfile -t mounts < <(awk '$5 != "/" { print $5 }' "/proc/$HOLDER/mountinfo" | sort -r)
      ((${#mounts[@]})) && nsenter --target "$HOLDER" --mount --root -- \
        /bin/sh -c 'for m; do umount "$m" || umount -l "$m"; done' sh "${mounts[@]}"
      left=$(awk '$5 != "/"' "/proc/$HOLDER/mountinfo" | wc -l)
      say "unmounted ${#mounts[@]} mounts inside, deepest first"
      ((left == 0)) || { say "$left mounts left inside" >&2; status=1; }
      kill -TERM "$HOLDER"
      for ((i = 0; i < 25; i++)); do kill -0 "$HOLDER" 2>/dev/null || break; sleep 0.2; done
    fi
    if grep -q " $R" /proc/self/mountinfo || kill -0 "$HOLDER" 2>/dev/null; then
      say "the fresh system is still mounted or held; kept $WORK" >&2
      status=1
    elif [[ ${TITAN_FRESH_KEEP:-} == 1 ]]; then
      say "kept the copy at $R (TITAN_FRESH_KEEP=1)"
    else
      rm -rf --one-file-system "$WORK"
    fi
    say "cleanup: nothing left running or mounted ($((SECONDS - t0)) s)"
  elif [[ -n $WORK && ${TITAN_FRESH_KEEP:-} != 1 ]]; then
    rm -rf --one-file-system "$WORK"
  fi
  if ((${#STEP_NAMES[@]})); then
    say "── timings"
    for i in "${!STEP_NAMES[@]}"; do printf '[fresh]   %-52s %5s s  %s\n' "${STEP_NAMES[$i]}" "${STEP_SECS[$i]}" "${STEP_RESULTS[$i]}"; done
    printf '[fresh]   %-52s %5s s\n' 'total' $((SECONDS - STARTED))
  fi
  ((status == 0)) && say "PASSED" || say "FAILED (status $status)"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# 1. This machine: root, the tools, and debootstrap (installed when missing)

(($(id -u) == 0)) || die "needs root (debootstrap, chroot, mounts); run it as root or from .ci/run"
for cmd in node npm git unshare nsenter chroot ip timeout apt-get flock; do
  command -v "$cmd" >/dev/null || die "$cmd is not installed on this machine"
done
if ! command -v debootstrap >/dev/null; then
  install_debootstrap() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends debootstrap >/dev/null; }
  }
  export -f install_debootstrap
  step "install debootstrap (apt-get)" 300 install_debootstrap
fi

# The Debian mirror and suites this machine's apt uses (whatever its sources' format).
mapfile -t SOURCES < <(apt-get indextargets --format '$(SITE) $(RELEASE)' 'Identifier: Packages' 'Component: main' 2>/dev/null |
  awk -v s="$SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security"' | sort -u)
MIRROR=$(printf '%s\n' "${SOURCES[@]}" | awk -v s="$SUITE" '$2 == s { print $1; exit }')
MIRROR=${MIRROR:-http://deb.debian.org/debian}
((${#SOURCES[@]})) || SOURCES=("$MIRROR $SUITE")

# ---------------------------------------------------------------------------------------------
# 2. The minimal Debian, from the cache or built by debootstrap

KEY=$(printf '%s\n' "$SUITE" "$INCLUDE" minbase "${SOURCES[@]}" "$(date +%G-W%V)" | sha256sum | cut -c1-12)
CACHED=$CACHE_ROOT/$SUITE-$KEY
mkdir -p "$CACHE_ROOT"
build_rootfs() {
  local tmp=$CACHE_ROOT/.build-$$ SOURCES
  mapfile -t SOURCES <<<"$SOURCES_LINES"
  rm -rf --one-file-system "$tmp"
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" >"$CACHE_ROOT/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE_ROOT/debootstrap.log" >&2; rm -rf --one-file-system "$tmp"; return 1; }
  # What a Debian install has and debootstrap leaves out: the suite's updates and security sources,
  # and /etc/hosts naming localhost (the README's curl calls localhost:8080).
  printf 'deb %s main\n' "${SOURCES[@]}" >"$tmp/etc/apt/sources.list"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
  echo fresh-debian >"$tmp/etc/hostname"
  mv "$tmp" "$CACHED"
}
if [[ -d $CACHED ]]; then
  say "minimal Debian $SUITE: cached at $CACHED"
else
  # Another run may be building the same one: wait for it rather than build it twice.
  exec 9>"$CACHE_ROOT/.lock"
  flock 9
  if [[ ! -d $CACHED ]]; then
    # An array does not pass through the environment: hand the sources over as lines.
    export -f build_rootfs
    export SUITE INCLUDE MIRROR CACHE_ROOT CACHED SOURCES_LINES
    SOURCES_LINES=$(printf '%s\n' "${SOURCES[@]}")
    step "debootstrap --variant=minbase $SUITE ($MIRROR)" 600 build_rootfs
    # Older recipes and weeks are of no further use.
    find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d -name "$SUITE-*" ! -path "$CACHED" -exec rm -rf --one-file-system {} +
  fi
  flock -u 9
fi

# ---------------------------------------------------------------------------------------------
# 3. A private copy, with this machine's Node.js and npm configuration and a clone of HEAD

WORK=$(mktemp -d /var/tmp/titan-fresh.XXXXXX)
R=$WORK/root
# A plain copy, not an overlay: the inner engine's overlay2 cannot stack on an overlay.
step "copy the minimal Debian" 180 cp -a "$CACHED" "$R"

add_node() {
  local node prefix npmdir
  node=$(readlink -f "$(command -v node)")
  prefix=$(dirname "$(dirname "$node")")
  npmdir=$prefix/lib/node_modules/npm
  [[ -f $npmdir/bin/npm-cli.js ]] || { echo "npm is not at $npmdir" >&2; return 1; }
  mkdir -p "$R$prefix/bin" "$R$prefix/lib/node_modules"
  cp -a "$node" "$R$prefix/bin/node"
  cp -a "$npmdir" "$R$prefix/lib/node_modules/"
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$R$prefix/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$R$prefix/bin/npx"
  # Node's headers, where the npm configuration's nodedir may point for native addons.
  [[ -d $prefix/include/node ]] && mkdir -p "$R$prefix/include" && cp -a "$prefix/include/node" "$R$prefix/include/"
  # npm's configuration (user and global) and the CA certificates this machine's traffic needs.
  local global
  global=$(npm config get globalconfig 2>/dev/null || true)
  [[ -f /root/.npmrc ]] && cp /root/.npmrc "$R/root/.npmrc"
  [[ -n $global && -f $global ]] && mkdir -p "$R$(dirname "$global")" && cp "$global" "$R$global"
  if [[ -d /usr/local/share/ca-certificates ]]; then
    cp -a /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/"
    chroot "$R" update-ca-certificates >/dev/null 2>&1
  fi
  cp -L /etc/resolv.conf "$R/etc/resolv.conf"
  echo "node $("$R$prefix/bin/node" --version) at $prefix/bin/node, npm $(chroot "$R" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin npm --version)"
}
export R APP
export -f add_node fresh_env inside isolated
step "add this machine's Node.js, npm config, CA certificates" 120 add_node

say "repository: $REPO at $(git -C "$REPO" rev-parse --short HEAD) ($(git -C "$REPO" log -1 --format=%s | cut -c1-70))"
step "git clone (committed HEAD)" 120 git clone -q --no-hardlinks "$REPO" "$R$APP"

# ---------------------------------------------------------------------------------------------
# 4. The fresh system's own mount namespace, held by a process that sleeps in it: the copy bound onto
# itself, fresh /proc, /sys with the cgroup hierarchy, /dev, /dev/pts, /dev/shm and a tmpfs /run (no
# socket of this machine is visible), then pivot_root into it. A chroot is not enough: the inner
# engine's containers would keep this machine's / as their namespace root, and `docker exec` would
# enter that instead of the container (measured: "chdir to cwd /app: no such file or directory").
# The mounts are private to that namespace, so nothing of them can reach this machine's.

hold_fresh_system() {
  mount --bind "$R" "$R"
  mount -t proc proc "$R/proc"
  mount -t sysfs sysfs "$R/sys"
  mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"
  mount -t devtmpfs devtmpfs "$R/dev"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
  mount -t tmpfs -o mode=1777,size=256m shm "$R/dev/shm"
  mount -t tmpfs -o mode=0755,size=256m run "$R/run"
  cd "$R"
  mkdir -p .old-root
  pivot_root . .old-root
  cd /
  umount -l /.old-root
  rmdir /.old-root
  touch /run/fresh-ready
  exec sleep infinity
}
export -f hold_fresh_system
say "── mount namespace with /proc /sys /dev /run, pivot_root into the copy"
unshare --mount --propagation private -- bash -c 'set -euo pipefail; hold_fresh_system' &
HOLDER=$!
for ((i = 0; i < 100; i++)); do
  [[ -e /proc/$HOLDER/root/run/fresh-ready ]] && break
  kill -0 "$HOLDER" 2>/dev/null || die "the fresh system's mounts failed (see above)"
  sleep 0.1
done
[[ -e /proc/$HOLDER/root/run/fresh-ready ]] || die "the fresh system's mounts were not ready within 10 s"
MNT_NS=$(readlink "/proc/$HOLDER/ns/mnt")
export HOLDER

# ---------------------------------------------------------------------------------------------
# 5. The README's quick start, exactly: `npm run setup && npm start`, the call, then `npm test`

step "npm run setup (npm ci, apt installs, engine, images)" 900 inside 'npm run setup'
du -sh "$R/var/cache/apt/archives" 2>/dev/null | awk '{ print "[fresh] apt download cache after setup: " $1 }'

# npm start runs in the background in its own process group (stopped by that id); the same shell
# waits for it to answer and makes the README's call. It runs with loopback only: setup is done.
quick_start() {
  setsid npm start >/root/gateway.log 2>&1 &
  echo $! >/root/gateway.pgid
  local t0=$SECONDS code
  until curl -s -o /dev/null -m 2 localhost:8080/healthz; do
    kill -0 "$(cat /root/gateway.pgid)" 2>/dev/null || { echo 'npm start exited:'; tail -n 30 /root/gateway.log; return 1; }
    ((SECONDS - t0 < 120)) || { echo 'the gateway did not answer within 120 s:'; tail -n 30 /root/gateway.log; return 1; }
    sleep 0.5
  done
  echo "gateway answering after $((SECONDS - t0)) s"
  code=$(curl -s -o /root/invoke.out -w '%{http_code}' -XPOST localhost:8080/functions/echo/invoke -d '{"hello":"world"}')
  echo "curl -XPOST localhost:8080/functions/echo/invoke -d '{\"hello\":\"world\"}' -> $code $(cat /root/invoke.out)"
  [[ $code == 200 ]] || { tail -n 30 /root/gateway.log; return 1; }
  # Then stop it as a user would, with Ctrl-C (SIGINT to its process group): it removes its containers.
  local pgid
  pgid=$(cat /root/gateway.pgid)
  t0=$SECONDS
  kill -INT -- "-$pgid"
  while kill -0 -- "-$pgid" 2>/dev/null; do
    ((SECONDS - t0 < 30)) || { echo 'npm start did not stop within 30 s of SIGINT'; return 1; }
    sleep 0.2
  done
  echo "gateway stopped $((SECONDS - t0)) s after SIGINT"
}
step "npm start, curl echo (200), stop" 240 isolated "$(declare -f quick_start); quick_start"

step "$TEST_CMD (loopback only)" 1200 isolated "$TEST_CMD"
