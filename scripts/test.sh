#!/usr/bin/env bash
# The project's one test command, on a fresh machine or an old one:
# installs what the tests need, then runs every test with the race detector.
#   bash scripts/test.sh            all tests
#   bash scripts/test.sh ./core/... only some packages (go test arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# Headless Chromium: the console's browser tests (cmd/host, chromedp) drive it.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# PostgreSQL's server (the order store's tests start their own, from
# initdb): Debian keeps initdb and postgres in /usr/lib/postgresql/<ver>/bin.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "scripts/test.sh: installing ${need_apt[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v go >/dev/null 2>&1 || { echo "scripts/test.sh: Go is required (https://go.dev/dl/)" >&2; exit 1; }

if [ $# -eq 0 ]; then
  set -- ./...
fi
exec go test -race -count=1 -timeout 25m "$@"
