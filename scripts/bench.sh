#!/usr/bin/env bash
# The end-to-end benchmark matrix (issue 13): linetls-perf against linetls over memif, and
# the same generator against nginx 1.22 and HAProxy 2.6 in a network namespace over a veth
# pair (net_af_packet). Rows: full and resumed TLS 1.3 handshakes, full TLS 1.2, 1 KiB
# requests, 16 MiB downloads, 256 connections of 64 KiB answers, plain TCP requests.
# Server on core 0, generator on core 1. Writes one JSON per row and server, results.md
# and PNG plots to OUT (default bench/results). Needs root; installs nginx, haproxy and
# matplotlib if missing. Not part of the tests: minutes of busy CPU.
#
#   scripts/bench.sh [SECONDS]            (default 5 s per run, plus 1 s of warm-up)
#   LT_BUILD_DIR=build-rel LT_BENCH_SERVERS=linetls,nginx LT_BENCH_ROWS=hs13,req1k \
#     LT_BENCH_OUT=/tmp/b scripts/bench.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
build=${LT_BUILD_DIR:-build}
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
/usr/bin/python3 -c "import matplotlib" 2>/dev/null || missing+=(python3-matplotlib)
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
fi
LT_TARGETS="apps/linetls/linetls apps/linetls-perf/linetls-perf" LT_BUILD_DIR="$build" \
  scripts/setup.sh
exec /usr/bin/python3 scripts/bench.py --build "$build" --seconds "$seconds" \
  --servers "${LT_BENCH_SERVERS:-linetls,nginx,haproxy}" --rows "${LT_BENCH_ROWS:-}" \
  --out "${LT_BENCH_OUT:-bench/results}"
