#!/usr/bin/env bash
# Runs every test of Phalanx.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --workspace
