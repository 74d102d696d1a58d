#!/usr/bin/env bash
# Runs every test of Phalanx: the Rust tests of the default workspace members, then the Python package's
# tests in a virtual environment (.venv) with the pinned test dependencies.
set -euo pipefail
cd "$(dirname "$0")"
# Not `--workspace`: python-bindings is a cdylib for the Python interpreter, tested from Python below.
cargo test
# The `phalanx` program, for the tests that compare the package with the command line.
cargo build --release --bin phalanx
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r python-bindings/requirements-test.txt
VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" maturin develop --release -m python-bindings/Cargo.toml
.venv/bin/python -m pytest python-bindings/tests
