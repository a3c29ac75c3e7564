#!/usr/bin/env bash
# A fleet on loopback, for a demo (docs/deploy.md): PostgreSQL and
# redis-server (Debian's packages, installed when missing), the built-in
# sandboxes (one for every replica), three `recyclegate serve` replicas
# sharing both, and a round-robin proxy in front. Ctrl-C stops everything.
#
#   bash scripts/fleet.sh        the proxy on 127.0.0.1:8080, replicas on 8081-8083
#
# Ports can be moved with FLEET_PORT (the proxy; replicas take the next
# three), FLEET_PG_PORT, FLEET_REDIS_PORT and FLEET_SANDBOX_BASE.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${FLEET_PORT:-8080}
pg_port=${FLEET_PG_PORT:-55432}
redis_port=${FLEET_REDIS_PORT:-56379}
sandbox_base=${FLEET_SANDBOX_BASE:-59100}

pg_bin() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "fleet: installing ${need_apt[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
bin=$(pg_bin)

work=$(mktemp -d /tmp/recyclegate-fleet.XXXXXX)
chmod 755 "$work"
pids=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  trap - EXIT INT TERM
  echo
  echo "fleet: stopping"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -f "$work/pg/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

wait_port() { # host port what
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "fleet: $3 is not listening on $1:$2 after 30s; logs in $work" >&2
  exit 1
}

echo "fleet: building recyclegate and fleetproxy into $work"
go build -o "$work/recyclegate" ./cmd/host
go build -o "$work/fleetproxy" ./cmd/fleetproxy

echo "fleet: PostgreSQL on 127.0.0.1:$pg_port"
mkdir -p "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg"
as_pg "$bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$work/initdb.log"
as_pg "$bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
as_pg "$bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE recyclegate" >/dev/null
export FLEET_DATABASE="postgres://postgres:fleet-demo@127.0.0.1:$pg_port/recyclegate?sslmode=disable"

echo "fleet: redis-server on 127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$redis_port" redis-server

echo "fleet: sandboxes from 127.0.0.1:$((sandbox_base + 1))"
"$work/recyclegate" sandbox --listen-base "127.0.0.1:$sandbox_base" >"$work/sandbox.out" 2>"$work/sandbox.log" &
pids+=($!)
for _ in $(seq 1 300); do grep -q '^admin:' "$work/sandbox.out" && break; sleep 0.1; done
grep -q '^admin:' "$work/sandbox.out" || { echo "fleet: the sandboxes did not start; see $work/sandbox.log" >&2; exit 1; }

# Every provider on the one shared sandbox: its "sandbox <id>: <url>" line,
# then its adapter's config as "  key: value".
providers=$(awk '
  /^sandbox / { id = $2; sub(":", "", id); printf "  - id: %s\n    runtime: builtin\n    config:\n", id; next }
  /^  [a-z_]+: / { key = $1; sub(":", "", key); $1 = ""; sub(/^ /, ""); printf "      %s: \"%s\"\n", key, $0 }
' "$work/sandbox.out")

backends=()
for i in 1 2 3; do
  p=$((port + i))
  backends+=("http://127.0.0.1:$p")
  cat >"$work/host$i.yaml" <<EOF
listen: 127.0.0.1:$p
data_dir: $work/data$i
database: \${FLEET_DATABASE}
store: redis://127.0.0.1:$redis_port/0
replicas: 3
orders:
  poll_interval: 10s
tenants:
  - id: demo
    api_keys: [demo]
    admin: true
providers:
$providers
EOF
  "$work/recyclegate" serve --config "$work/host$i.yaml" >"$work/host$i.out" 2>"$work/host$i.log" &
  pids+=($!)
done
for i in 1 2 3; do wait_port 127.0.0.1 $((port + i)) "replica $i"; done

(IFS=,; "$work/fleetproxy" --listen "127.0.0.1:$port" --backends "${backends[*]}" >"$work/proxy.out" 2>&1) &
pids+=($!)
wait_port 127.0.0.1 "$port" fleetproxy

cat <<EOF

fleet: up. The proxy http://127.0.0.1:$port round-robins over replicas on $((port + 1))-$((port + 3)),
sharing PostgreSQL (127.0.0.1:$pg_port, database recyclegate) and Redis (127.0.0.1:$redis_port).
Logs: $work/host{1,2,3}.log

  curl -s -H 'Authorization: Bearer demo' -H 'Content-Type: application/json' -d '{"item":{"category":"phone","brand":"Apple","model":"iPhone 14 Pro","storage":"256GB","condition":"excellent"}}' localhost:$port/v1/quotes
  curl -s -H 'Authorization: Bearer demo' -H 'Idempotency-Key: k1' -H 'Content-Type: application/json' -d '{"provider":"aihuishou","quote_id":"<quote_id>","customer":{"name":"张三","phone":"138****6789","address":"上海市徐汇区 1 号"}}' localhost:$port/v1/orders
  curl -s -H 'Authorization: Bearer demo' localhost:$((port + 2))/v1/orders
  curl -s localhost:$((port + 3))/readyz

Ctrl-C stops everything.
EOF
wait "${pids[@]}"
