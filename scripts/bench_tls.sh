#!/usr/bin/env bash
# TLS 1.3 and 1.2 server cost: linetls in TAP mode beside nginx (Debian's, kernel TCP +
# OpenSSL) on loopback. Server pinned to core 0, client to core 1; both servers use one
# ECDSA P-256 certificate made here, X25519 and TLS_AES_128_GCM_SHA256 (TLS 1.2 rows:
# ECDHE-ECDSA-AES128-GCM-SHA256).
#   A. CPU per connection, SECS seconds per mode, each connection fetching the same
#      42-byte page with HTTP/1.0 (the server closes):
#        new    openssl s_time -new: full handshakes;
#        reuse  openssl s_time -reuse: resumed handshakes (psk_dhe_ke);
#        plain  the same fetch without TLS (a Python client; linetls `http`, nginx plain
#               listener): the TCP + transport floor under the TLS modes;
#        new12, reuse12  the same in TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256 with X25519
#               (s_time -tls1_2 -cipher; resumed = session ticket); nginx on a listener
#               with ssl_protocols TLSv1.2 and that one cipher;
#        mtls12 full TLS 1.2 handshakes with a client certificate (P-256, signed by a CA
#               made here): s_time -cert/-key; linetls --client-ca (client-auth required,
#               one engine run of its own); nginx ssl_verify_client on on its own listener.
#   B. Bulk: curl downloading MiB mebibytes once over TLS and once in plain HTTP from each
#      (linetls /bytes/N over TAP; nginx a same-size file on tmpfs over loopback):
#      Gbit/s as curl measured it and server CPU seconds per GiB.
# Server CPU, linetls: engine.busy_cycles / tsc_hz from its counters (one engine run per
# measurement; busy cycles are TSC time of loops that did work, so preemption counts: run
# on a quiet machine), and beside it the process's utime+stime delta (adds the polling
# before the worker sleeps). nginx: utime+stime delta of its single process
# (master_process off) from /proc/PID/stat. Per connection: divided by tls.handshakes
# (linetls TLS modes) or by the count the client reports.
# Needs root. Touches only its own TAP (ltbtls0, 10.99.32.0/24), 127.0.0.1:18443-18445 and
# 18080, and temp dirs (nginx runs with -p on one). Figures go to docs/PERFORMANCE.md
# ("TLS 1.3" and "TLS 1.2").
#   scripts/bench_tls.sh [SECS per mode, default 10] [MiB for B, default 1024]
# LT_ROWS="new reuse ..." picks the A modes (default: all six); LT_SKIP_BULK=1 skips B.
# LT_CLIENTS=N runs N s_time clients at once (all on core 1; default 1): the server then
# sees handshakes back to back rather than one round trip at a time.
# LT_SKIP_SETUP=1 skips scripts/setup.sh (and so the rebuild of the whole tree).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
mib=${2:-1024}
bytes=$((mib * 1024 * 1024))
[[ -n ${LT_SKIP_SETUP:-} ]] || LT_BUILD_DIR=${LT_BUILD_DIR:-build} scripts/setup.sh
bin=${LT_BUILD_DIR:-build}/apps/linetls/linetls
tap=ltbtls0
ip=10.99.32.2
ng_tls=18443
ng_plain=18080
suite=TLS_AES_128_GCM_SHA256
suite12=ECDHE-ECDSA-AES128-GCM-SHA256
ng_tls12=18444
ng_mtls12=18445
rows=${LT_ROWS:-new reuse plain new12 reuse12 mtls12}
ticks=$(getconf CLK_TCK)

dir=$(mktemp -d /tmp/linetls-bench-tls.XXXXXX)
shm=$(mktemp -d /dev/shm/linetls-bench-tls.XXXXXX)
lt_pid=
ng_pid=
cleanup() {
  [[ -n $lt_pid ]] && kill "$lt_pid" 2>/dev/null || true
  [[ -n $ng_pid ]] && kill "$ng_pid" 2>/dev/null || true
  rm -rf "$dir" "$shm"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=linetls -addext "subjectAltName=DNS:localhost,IP:$ip,IP:127.0.0.1" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
# Client certificate for mtls12: a P-256 CA and a leaf it signs.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=linetls-bench-ca -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bench-client \
  -keyout "$dir/client.key" -out "$dir/client.csr" 2>/dev/null
openssl x509 -req -in "$dir/client.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
  -CAcreateserial -days 2 -out "$dir/client.pem" 2>/dev/null
printf 'linetls: hello from a userspace TCP stack\n' >"$shm/index.html"
/usr/bin/python3 - "$shm/bytes" "$bytes" <<'PY'
import sys
block = bytes(ord("a") + i % 26 for i in range(26 * 40960))
left = int(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    while left > 0:
        f.write(block[:min(left, len(block))])
        left -= min(left, len(block))
PY

proc_cpu() {  # proc_cpu PID: utime + stime of the process (all threads), in seconds
  awk -v t="$ticks" '{sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t}' "/proc/$1/stat"
}

# ---- linetls

lt_extra=()  # extra engine flags for the next lt_start (mtls12: --client-ca)
lt_launch() {
  "$bin" "${lt_extra[@]}" --tap "$tap" --ip "$ip/24" --host-ip 10.99.32.1/24 --lcores 0 \
    --log-level 1 \
    --serve 443=tls:http --serve 8080=http --cert "$dir/cert.pem" --key "$dir/key.pem" \
    >"$dir/lt.out" 2>"$dir/lt.err" &
  lt_pid=$!
  for _ in $(seq 300); do grep -q ready "$dir/lt.out" && return 0; sleep 0.1; done
  return 1
}
lt_start() {
  # Seen on the shared development machine: now and then the engine sits for minutes in
  # rte_eal_init (main thread in a nanosleep inside librte_eal, no CPU used) and goes on
  # only when something (gdb) attaches. Until that is understood: one retry.
  if ! lt_launch; then
    echo "linetls not ready after 30 s (stalled in EAL init?); restarting it once" >&2
    kill -9 "$lt_pid" 2>/dev/null || true
    wait "$lt_pid" 2>/dev/null || true
    if ! lt_launch; then
      echo "linetls did not start:" >&2
      { grep -v qdisc "$dir/lt.err" | tail -5; cat "$dir/lt.out"; } >&2 || true
      exit 1
    fi
  fi
  lt_c0=$(proc_cpu "$lt_pid")
}

# Stops the engine (in this shell: it must be our child) and sets lt_busy (seconds),
# lt_proc (process CPU seconds since lt_start) and lt_hs (tls.handshakes).
lt_stop() {
  lt_proc=$(awk -v a="$lt_c0" -v b="$(proc_cpu "$lt_pid")" 'BEGIN {printf "%.2f", b - a}')
  kill -INT "$lt_pid"
  if ! wait "$lt_pid"; then
    echo "linetls exited with an error:" >&2; tail -5 "$dir/lt.err" >&2; exit 1
  fi
  lt_pid=
  lt_tags=$(awk '$1 == "counter" && $4 != 0 &&
       $3 ~ /^tls\.(tls12|tls13|handshakes_resumed|group\.|suite\.|handshake_failures|mtls\.)/ {
       printf "%s%s=%s", sep, $3, $4; sep = " "}' "$dir/lt.out")
  read -r lt_busy lt_hs < <(awk '
       $1 == "counter" && $3 == "tsc_hz" {hz = $4}
       $1 == "counter" && $3 ~ /busy_cycles$/ {busy += $4}
       $1 == "counter" && $3 == "tls.handshakes" {hs += $4}
       END {printf "%.6f %d\n", busy / hz, hs}' "$dir/lt.out")
}

# ---- nginx

cat >"$dir/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  root $shm;
  server {
    listen 127.0.0.1:$ng_tls ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    ssl_protocols TLSv1.3;
    ssl_ecdh_curve X25519;
  }
  server {
    listen 127.0.0.1:$ng_tls12 ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    ssl_protocols TLSv1.2;
    ssl_ciphers $suite12;
    ssl_ecdh_curve X25519;
  }
  server {
    listen 127.0.0.1:$ng_mtls12 ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    ssl_protocols TLSv1.2;
    ssl_ciphers $suite12;
    # P-256 too: OpenSSL's TLS 1.2 server refuses ("wrong curve") an ECDSA client certificate
    # whose curve is not among the groups; the client's order still picks X25519.
    ssl_ecdh_curve X25519:prime256v1;
    ssl_verify_client on;
    ssl_client_certificate $dir/ca.pem;
  }
  server {
    listen 127.0.0.1:$ng_plain;
  }
}
EOF

ng_start() {
  taskset -c 0 nginx -p "$dir" -c "$dir/nginx.conf" &
  ng_pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ng_plain") 2>/dev/null && break
    sleep 0.1
  done
  ng_c0=$(proc_cpu "$ng_pid")
}
ng_stop() {  # sets ng_proc (CPU seconds since ng_start)
  ng_proc=$(awk -v a="$ng_c0" -v b="$(proc_cpu "$ng_pid")" 'BEGIN {printf "%.2f", b - a}')
  kill "$ng_pid"
  wait "$ng_pid" 2>/dev/null || true
  ng_pid=
}

# ---- clients (core 1)

s_time() {  # s_time MODE HOST:PORT: prints the connection count s_time reports
  local m=$1 hp=$2
  local -a a=(-tls1_3 -ciphersuites "$suite")
  case $m in
    new12 | reuse12) a=(-tls1_2 -cipher "$suite12") ;;
    mtls12) a=(-tls1_2 -cipher "$suite12" -cert "$dir/client.pem" -key "$dir/client.key") ;;
  esac
  case $m in reuse*) a+=(-reuse) ;; *) a+=(-new) ;; esac
  local i
  for ((i = 0; i < ${LT_CLIENTS:-1}; i++)); do
    taskset -c 1 openssl s_time -connect "$hp" -www / -time "$secs" "${a[@]}" \
      >"$dir/s_time.$i" 2>&1 &
  done
  wait
  cat "$dir"/s_time.[0-9]* >>"$dir/s_time.log"
  awk '/connections in [0-9]+ real seconds/ {n += $1} END {print n + 0}' "$dir"/s_time.[0-9]*
  rm -f "$dir"/s_time.[0-9]*
}
plain() {  # plain HOST PORT: fetches / in a loop for secs seconds; prints the count
  taskset -c 1 /usr/bin/python3 - "$1" "$2" "$secs" <<'PY'
import socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n, end = 0, time.monotonic() + secs
while time.monotonic() < end:
    with socket.create_connection((host, port)) as s:
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        while s.recv(65536):
            pass
    n += 1
print(n)
PY
}
fetch() {  # fetch URL: prints "bytes seconds"
  taskset -c 1 curl -sk --tlsv1.3 --tls13-ciphers "$suite" -o /dev/null \
    -w '%{size_download} %{time_total}\n' "$1"
}
phases() {  # phases COUNT SCALE UNIT: the engine's busy phases of the last run, per COUNT
  awk -v n="$1" -v s="$2" -v u="$3" '
    $1 == "counter" && $3 == "tsc_hz" {hz = $4}
    $1 == "counter" && $3 ~ /^cycles\./ && $3 != "cycles.idle" {c[substr($3, 8)] += $4}
    $1 == "counter" && $3 == "tls.handshake_machine_cycles" {m += $4}
    END {printf "  engine phases (%s each):", u
         split("rx net_input tls_open apps tls_seal tcp_output tx timers", order, " ")
         for (i = 1; i in order; i++) printf " %s %.3g", order[i], c[order[i]] / hz / n * s
         if (m) printf "; inside the handshake machines %.3g", m / hz / n * s
         printf "\n"}' "$dir/lt.out"
}
per() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN {printf "%.1f", b ? a / b * s : 0}'; }

# ---- A: per connection

declare -A res
for mode in $rows; do
  lt_extra=()
  [[ $mode != mtls12 ]] || lt_extra=(--client-ca "$dir/ca.pem" --client-auth required)
  lt_start
  if [[ $mode == plain ]]; then n=$(plain "$ip" 8080); else n=$(s_time "$mode" "$ip:443"); fi
  lt_stop
  lt_extra=()
  count=$([[ $mode == plain ]] && echo "$n" || echo "$lt_hs")
  res[lt_$mode]=$(per "$lt_busy" "$count" 1e6)
  res[ltp_$mode]=$(per "$lt_proc" "$count" 1e6)
  echo "linetls $mode: client $n, engine handshakes $lt_hs, busy ${lt_busy}s," \
    "process ${lt_proc}s: ${res[lt_$mode]} us busy (${res[ltp_$mode]} us process) each"
  [[ $mode == plain ]] || echo "  engine counters: $lt_tags"
  phases "$count" 1e6 us

  ng_start
  if [[ $mode == plain ]]; then
    n=$(plain 127.0.0.1 "$ng_plain")
  else
    port=$ng_tls
    case $mode in new12 | reuse12) port=$ng_tls12 ;; mtls12) port=$ng_mtls12 ;; esac
    n=$(s_time "$mode" "127.0.0.1:$port")
  fi
  [[ $n != 0 ]] || echo "nginx $mode: no connection completed (see s_time.log)" >&2
  ng_stop
  res[ng_$mode]=$(per "$ng_proc" "$n" 1e6)
  echo "nginx   $mode: client $n, process ${ng_proc}s: ${res[ng_$mode]} us each"
done

# ---- B: bulk

gib() { awk -v c="$1" -v b="$2" 'BEGIN {printf "%.3f", b ? c / (b / 1073741824) : 0}'; }
gbps() { awk -v b="$1" -v t="$2" 'BEGIN {printf "%.2f", b * 8 / t / 1e9}'; }
bulk_modes="tls plain"
[[ -z ${LT_SKIP_BULK:-} ]] || bulk_modes=
for mode in $bulk_modes; do
  url="http://$ip:8080/bytes/$bytes"
  [[ $mode == plain ]] || url="https://$ip/bytes/$bytes"
  lt_start
  read -r got t < <(fetch "$url")
  lt_stop
  [[ $got == "$bytes" ]] || echo "linetls $mode: got $got of $bytes bytes" >&2
  res[ltg_$mode]=$(gbps "$got" "$t")
  res[ltb_$mode]=$(gib "$lt_busy" "$got")
  res[ltbp_$mode]=$(gib "$lt_proc" "$got")
  echo "linetls bulk $mode: $got bytes in ${t}s = ${res[ltg_$mode]} Gbit/s;" \
    "${res[ltb_$mode]} s/GiB busy (${res[ltbp_$mode]} s/GiB process)"
  phases "$(awk -v b="$got" 'BEGIN {print b / 1073741824}')" 1 s/GiB

  url="http://127.0.0.1:$ng_plain/bytes"
  [[ $mode == plain ]] || url="https://127.0.0.1:$ng_tls/bytes"
  ng_start
  read -r got t < <(fetch "$url")
  ng_stop
  [[ $got == "$bytes" ]] || echo "nginx $mode: got $got of $bytes bytes" >&2
  res[ngg_$mode]=$(gbps "$got" "$t")
  res[ngb_$mode]=$(gib "$ng_proc" "$got")
  echo "nginx   bulk $mode: $got bytes in ${t}s = ${res[ngg_$mode]} Gbit/s;" \
    "${res[ngb_$mode]} s/GiB"
done

echo "== summary: server CPU (linetls: busy cycles, process CPU in brackets); ratio nginx/linetls"
for mode in $rows; do
  awk -v m="$mode" -v l="${res[lt_$mode]}" -v p="${res[ltp_$mode]}" -v n="${res[ng_$mode]}" \
    'BEGIN {printf "per connection %-7s linetls %6.1f us (%6.1f)  nginx %6.1f us  ratio %.2f\n",
            m, l, p, n, l ? n / l : 0}'
done
for mode in $rows; do
  [[ $mode != plain && -n ${res[lt_plain]:-} ]] || continue
  awk -v m="$mode" -v l="${res[lt_$mode]}" -v lp="${res[lt_plain]}" -v n="${res[ng_$mode]}" \
    -v np="${res[ng_plain]}" \
    'BEGIN {printf "TLS part of %-7s (minus plain) linetls %6.1f us  nginx %6.1f us" \
            "  ratio %.2f\n", m, l - lp, n - np, l - lp ? (n - np) / (l - lp) : 0}'
done
for mode in $bulk_modes; do
  awk -v m="$mode" -v l="${res[ltb_$mode]}" -v p="${res[ltbp_$mode]}" -v n="${res[ngb_$mode]}" \
    -v lg="${res[ltg_$mode]}" -v ng="${res[ngg_$mode]}" \
    'BEGIN {printf "bulk %-5s linetls %.3f s/GiB (%.3f) %s Gbit/s  nginx %.3f s/GiB" \
            " %s Gbit/s  ratio %.2f\n", m, l, p, lg, n, ng, l ? n / l : 0}'
done
