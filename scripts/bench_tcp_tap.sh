#!/usr/bin/env bash
# One kernel client sending bytes to a discard service, twice in one run:
#   A. linetls --serve 9=discard in TAP mode (the client's segments cross the TAP);
#   B. socat discarding on loopback (the kernel's own TCP on both ends).
# Prints throughput and, for linetls, the engine's busy CPU time (its TSC phase
# accounting: all cycles outside the idle phase) per GiB. Needs root. Figures go to
# docs/PERFORMANCE.md ("TCP over TAP").
#   scripts/bench_tcp_tap.sh [MiB per run, default 2048] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-2048}
runs=${2:-3}
bytes=$((mib * 1024 * 1024))
LT_BUILD_DIR=${LT_BUILD_DIR:-build} scripts/setup.sh
command -v socat >/dev/null || { echo "bench: needs socat (apt-get install socat)" >&2; exit 1; }
bin=${LT_BUILD_DIR:-build}/apps/linetls/linetls
tap=ltbench0
ip=10.99.7.2

echo "== A: linetls discard over TAP ($runs x $mib MiB)"
out=$(mktemp)
"$bin" --tap "$tap" --ip "$ip/24" --host-ip 10.99.7.1/24 --serve 9=discard --log-level 1 \
  >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q ready "$out" && break; sleep 0.1; done
grep -q ready "$out" || { echo "engine did not start" >&2; exit 1; }
for r in $(seq "$runs"); do
  /usr/bin/python3 bench/e2e/send_client.py "$ip" 9 "$bytes"
done
kill -INT $pid
wait $pid || true
trap - EXIT
hz=$(awk '$1 == "counter" && $3 == "tsc_hz" {print $4}' "$out")
busy=$(awk '/^counter worker=.* cycles\./ && $3 != "cycles.idle" {s += $4} END {print s}' "$out")
echo "engine busy cycles: $busy (tsc_hz=${hz:-unknown}) for $((runs * mib)) MiB"
if [[ -n "$hz" ]]; then
  awk -v b="$busy" -v hz="$hz" -v mib="$((runs * mib))" \
    'BEGIN {printf "engine busy CPU: %.3f s per GiB\n", b / hz / (mib / 1024)}'
fi
rm -f "$out"

echo "== B: socat discard over loopback ($runs x $mib MiB)"
socat -u -b 1048576 TCP-LISTEN:19999,reuseaddr,fork OPEN:/dev/null &
spid=$!
sleep 0.5
for r in $(seq "$runs"); do
  /usr/bin/python3 bench/e2e/send_client.py 127.0.0.1 19999 "$bytes"
done
kill $spid 2>/dev/null || true
