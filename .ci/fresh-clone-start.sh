#!/usr/bin/env bash
# Issue 11, points 1 and 2, from a fresh clone: the committed HEAD cloned into a new `mktemp -d`
# folder (mode 0700: as root, a folder the postgres OS user cannot enter), `npm ci`, then
# `npm start` with no DATABASE_URL. It must get ready, keep a project across a SIGTERM to the npm
# pid (after which, within 10 s, no process of the clone is left and both ports are free), and
# start again after a SIGKILL of the service's node process, with its data. Whatever of the clone
# is still running at the end is stopped by PID; the clone and the cluster it made are removed
# (the binaries copied to /var/lib/paige-db stay: one copy per version, shared by every checkout).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
head="$(git -C "$repo" rev-parse HEAD)"

work="$(mktemp -d)"
chmod 0700 "$work"
clone="$work/paige-db"
cluster=""

fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/start-*.err; do [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}

# Whatever is still running of the clone (npm, node, esbuild, postgres: all found by where they
# work or run from, so no other process is touched), then the clone and the cluster it made.
cleanup() {
  [ -z "$cluster" ] && [ -L "$clone/.paige-data/postgres" ] && cluster="$(readlink -f "$clone/.paige-data/postgres")"
  for pid in $(clone_processes); do kill -KILL "$pid" 2>/dev/null || true; done
  case "$cluster" in /var/lib/paige-db/clusters/?*) rm -rf "$cluster" ;; esac
  rm -rf "$work"
}
trap cleanup EXIT

# Every live process of this clone: working in it or in its cluster, or running from either
# (a few processes for all of /proc: the check runs every 50 ms).
clone_processes() {
  local place pid
  {
    for place in "$clone" ${cluster:+"$cluster"}; do
      find /proc/[0-9]*/cwd /proc/[0-9]*/exe -maxdepth 0 \( -lname "$place" -o -lname "$place/*" \) 2>/dev/null || true
      grep -lsF -- "$place" /proc/[0-9]*/cmdline 2>/dev/null || true
    done
  } | cut -d/ -f3 | sort -un | while read -r pid; do
    # Not this script, and not a zombie or a process gone meanwhile (its cmdline is empty).
    [ "$pid" != "$$" ] && [ -n "$(head -c 1 "/proc/$pid/cmdline" 2>/dev/null)" ] && echo "$pid" || true
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

echo "clone of $head in $work (mode $(stat -c %a "$work"))"
git clone --quiet --no-hardlinks "$repo" "$clone"
git -C "$clone" checkout --quiet --detach "$head"
(cd "$clone" && npm ci --no-audit --no-fund > "$work/npm-ci.log" 2>&1) || { tail -n 30 "$work/npm-ci.log" >&2; fail "npm ci in the clone"; }

runs=0
url=""
npm_pid=""
# Starts `npm start` (a session of its own, as a supervisor starts a service) and waits for /readyz.
start() {
  runs=$((runs + 1))
  local err="$work/start-$runs.err"
  (cd "$clone" && exec env -u DATABASE_URL -u PAIGE_DATA_DIR -u ADMIN_TOKEN PORT=0 LOG_LEVEL=info setsid npm start > "$work/start-$runs.out" 2> "$err") &
  npm_pid=$!
  local waited=0
  until grep -q 'paige-db ready at' "$err"; do
    kill -0 "$npm_pid" 2>/dev/null || fail "npm start exited before it was ready"
    [ "$waited" -ge 1200 ] && fail "not ready within 120 s"
    sleep 0.1; waited=$((waited + 1))
  done
  url="$(grep -o 'paige-db ready at [^ ]*' "$err" | awk '{print $4}')"
  curl -fsS "${url%/graphql}/readyz" | grep -q '"ready"' || fail "/readyz did not answer ready"
  grep -q npm "/proc/$npm_pid/cmdline" || fail "pid $npm_pid is not npm"
  grep 'embedded Postgres on' "$err"
}

graphql() {
  curl -fsS "$url" -H "authorization: Bearer $(cat "$clone/.paige-data/admin-token")" -H 'content-type: application/json' -d "{\"query\":$1}"
}

# SIGTERM to the npm pid; within 10 s npm, every process of the clone and both ports must be gone.
sigterm_npm() {
  local http_port pg_port since left service_gone=""
  http_port="${url##*:}"; http_port="${http_port%%/*}"
  pg_port="$(sed -n 4p "$cluster/postmaster.pid")"
  since="$(date +%s%N)"
  kill -TERM "$npm_pid"
  while :; do
    left="$(clone_processes)"
    if [ -z "$service_gone" ] && [ -z "$(grep -vx "$npm_pid" <<< "$left")" ] && ! port_open "$http_port" && ! port_open "$pg_port"; then
      service_gone="$(( ($(date +%s%N) - since) / 1000000 ))"
    fi
    if ! kill -0 "$npm_pid" 2>/dev/null && [ -z "$left" ] && ! port_open "$http_port" && ! port_open "$pg_port"; then break; fi
    if [ $(( $(date +%s%N) - since )) -gt 10000000000 ]; then
      for pid in $left; do ps -o pid=,user=,args= -p "$pid" >&2 || true; done
      fail "10 s after the signal: npm $(kill -0 "$npm_pid" 2>/dev/null && echo running || echo gone), ports $http_port/$pg_port $(port_open "$http_port" && echo open || echo free)/$(port_open "$pg_port" && echo open || echo free)"
    fi
    sleep 0.05
  done
  echo "service, its postgres and both ports gone ${service_gone} ms after the signal; npm itself and so everything $(( ($(date +%s%N) - since) / 1000000 )) ms"
}

echo "== first start"
start
cluster="$(readlink -f "$clone/.paige-data/postgres")"
if [ "$(id -u)" = 0 ]; then
  case "$cluster" in /var/lib/paige-db/clusters/*) ;; *) fail "as root in a 0700 folder the cluster should be in /var/lib/paige-db/clusters, not $cluster" ;; esac
fi
project="$(graphql '"mutation { createProject(name: \"fresh clone\") { id } }"' | grep -o '"id":"[0-9a-f]*"')" || fail "createProject"
echo "created $project"

echo "== SIGTERM to the npm pid"
sigterm_npm

echo "== second start: the project is there"
start
graphql '"{ projects { id name } }"' | grep -q "$project" || fail "the project did not survive the restart"

echo "== SIGKILL of the service's node process"
node_pid="$(cat "/proc/$npm_pid/task/$npm_pid/children" | awk '{print $1}')"
grep -q 'src/main.ts' "/proc/$node_pid/cmdline" || fail "npm's child $node_pid is not the service"
orphan="$(head -n 1 "$cluster/postmaster.pid")"
{ # (bash's "Killed" notice for npm, which kills itself the same way, is not news)
  kill -KILL "$node_pid"
  for _ in $(seq 1 200); do kill -0 "$npm_pid" 2>/dev/null || break; sleep 0.05; done
} 2>/dev/null
kill -0 "$npm_pid" 2>/dev/null && fail "npm did not end within 10 s of its service's SIGKILL"
kill -0 "$orphan" 2>/dev/null || fail "its postmaster $orphan did not outlive it: nothing left for the next start to recover"
echo "its postmaster $orphan outlived it"

echo "== third start: the left-over postmaster is stopped, the data is found"
start
grep -q "stopping the embedded Postgres (pid $orphan)" "$work/start-$runs.err" || fail "the third start did not say it stopped postmaster $orphan"
graphql '"{ projects { id name } }"' | grep -q "$project" || fail "the project did not survive the SIGKILL"

echo "== SIGTERM to the npm pid"
sigterm_npm
echo "ok: a fresh clone in a 0700 folder starts, stops on SIGTERM, and recovers from a SIGKILL with its data"
