#!/usr/bin/env bash
# The test suite: installs what the tests need (redis-server) when it is missing, then runs every
# test of the crate. Tests start their own redis-server on private sockets and their own
# simulators on loopback ports; nothing else needs to be running.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
if ((${#need_apt[@]})); then
    echo "test.sh: installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { echo "test.sh: cargo not found (install Rust stable)" >&2; exit 1; }

echo "test.sh: cargo test (unit, parser, store, simulator and end-to-end tests)"
cargo test --all-targets --locked
