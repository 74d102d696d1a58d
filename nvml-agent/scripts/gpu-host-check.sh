#!/usr/bin/env bash
# Checks the agent against a GPU host's real driver: inventory (text and JSON), a short `run` with its
# /metrics and /status scraped, and — when their binaries are given — the per-stage (`cycle`) and
# per-cycle CPU (`agent_cost`) benchmarks on the host's own GPUs. Everything it prints is also written
# to OUTDIR.
#
#   gpu-host-check.sh AGENT_BIN OUTDIR [CYCLE_BENCH_BIN [AGENT_COST_BENCH_BIN]]
#
# Build the binaries with `cargo build --release -p phalanx-agent` and
# `cargo bench -p phalanx-agent --no-run` (which prints the bench executables' paths).
set -uo pipefail
agent=${1:?usage: gpu-host-check.sh AGENT_BIN OUTDIR [CYCLE_BENCH_BIN [AGENT_COST_BENCH_BIN]]}
out=${2:?usage: gpu-host-check.sh AGENT_BIN OUTDIR [CYCLE_BENCH_BIN [AGENT_COST_BENCH_BIN]]}
cycle=${3:-}
cost=${4:-}
mkdir -p "$out"
log="$out/check.log"
say() { printf '%s\n' "$*" | tee -a "$log"; }
step() { say ""; say "## $*"; }

step "host"
{ date -u; uname -r; nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv 2>&1; } | tee -a "$log"

step "phalanx-agent inventory"
start=$(date +%s%N)
"$agent" inventory 2>&1 | tee "$out/inventory.txt" | tee -a "$log"
say "exit ${PIPESTATUS[0]}, $(( ($(date +%s%N) - start) / 1000000 )) ms wall (NVML start-up included)"

step "phalanx-agent inventory --json"
"$agent" inventory --json >"$out/inventory.json" 2>>"$log"
say "exit $?, $(wc -c <"$out/inventory.json") bytes in inventory.json"

step "phalanx-agent run --interval 1s --cycles 4 (no controller), /metrics and /status scraped"
"$agent" run --interval 1s --cycles 4 --metrics 127.0.0.1:19400 >"$out/run.log" 2>&1 &
pid=$!
sleep 2.5
curl -s -o "$out/metrics.txt" -w '/metrics: HTTP %{http_code}, %{size_download} bytes\n' http://127.0.0.1:19400/metrics | tee -a "$log"
curl -s -o "$out/status.json" -w '/status: HTTP %{http_code}, %{size_download} bytes\n' http://127.0.0.1:19400/status | tee -a "$log"
wait "$pid"
say "run exit $?; its log:"
tee -a "$log" <"$out/run.log"
say "metrics, first GPU:"
grep -E '^DCGM_FI_DEV_[A-Z_]+\{gpu="0"' "$out/metrics.txt" | tee -a "$log"

if [ -n "$cycle" ]; then
  step "cycle bench on this host's GPUs (CYCLE_NVML=1)"
  CYCLE_NVML=1 "$cycle" --bench --warm-up-time 1 --measurement-time 3 --noplot 2>&1 | tee -a "$log"
fi
if [ -n "$cost" ]; then
  step "agent_cost bench on this host's NVML (AGENT_COST_NVML=1)"
  AGENT_COST_NVML=1 PHALANX_AGENT_BIN="$agent" "$cost" --bench 2>&1 | tee -a "$log"
fi
