#!/usr/bin/env bash
# The test suite: installs what the tests need (redis-server) when it is missing, then runs every
# test of the crate. Tests start their own redis-server on private sockets and their own
# simulators on loopback ports; nothing else needs to be running.
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=perf/lib/install.sh
source perf/lib/install.sh
install_for tests
command -v cargo >/dev/null 2>&1 || { echo "test.sh: cargo not found (install Rust stable)" >&2; exit 1; }

echo "test.sh: cargo test (unit, parser, store, simulator and end-to-end tests)"
cargo test --all-targets --locked
