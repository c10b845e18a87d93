#!/usr/bin/env bash
# The proxy's cost (issue 11): linetls terminating TLS 1.3 in front of nginx, beside the
# same request answered by linetls's own tls:http (the proxy's overhead), beside HAProxy 2.6
# (Debian) terminating TLS in front of the same nginx with one thread. The server under test
# is pinned to core 0; the client (openssl s_time, curl) and the nginx backend to core 1.
# One ECDSA P-256 certificate made here, X25519, TLS_AES_128_GCM_SHA256.
#   A. CPU per proxied connection: openssl s_time -new for SECS seconds, each connection a
#      full TLS 1.3 handshake and one small request (HTTP/1.0 GET of a 42-byte page; the
#      backend closes): linetls tls:http, linetls tls:proxy -> nginx, haproxy -> nginx.
#   B. CPU per proxied GiB: curl downloads MiB mebibytes once through each.
# Server CPU, linetls: engine.busy_cycles / tsc_hz (TSC time of loops that did work), and
# the process's utime+stime delta in brackets; haproxy: utime+stime delta of its process.
# Over TAP linetls also pays the TAP device's syscall per frame (both directions, client
# and backend), which a real NIC does not charge: the ratio is a floor.
# Needs root. Touches only its own TAP (ltbpx0, 10.99.34.0/24), 127.0.0.1:18090/18443 and
# the host side of the TAP; temp dirs.
#   scripts/bench_proxy.sh [SECS per row, default 10] [MiB for B, default 1024]
# LT_SKIP_SETUP=1 skips scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
mib=${2:-1024}
bytes=$((mib * 1024 * 1024))
[[ -n ${LT_SKIP_SETUP:-} ]] || LT_BUILD_DIR=${LT_BUILD_DIR:-build} scripts/setup.sh
command -v haproxy >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
}
bin=${LT_BUILD_DIR:-build}/apps/linetls/linetls
tap=ltbpx0
ip=10.99.34.2
host=10.99.34.1
backend_port=18090
hap_port=18443
suite=TLS_AES_128_GCM_SHA256
ticks=$(getconf CLK_TCK)

dir=$(mktemp -d /tmp/linetls-bench-proxy.XXXXXX)
shm=$(mktemp -d /dev/shm/linetls-bench-proxy.XXXXXX)
lt_pid=
ng_pid=
hap_pid=
cleanup() {
  for p in $lt_pid $ng_pid $hap_pid; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir" "$shm"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=linetls -addext "subjectAltName=DNS:localhost,IP:$ip,IP:127.0.0.1" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
cat "$dir/cert.pem" "$dir/key.pem" >"$dir/haproxy.pem"
printf 'linetls: hello from a userspace TCP stack\n' >"$shm/index.html"
head -c "$bytes" /dev/zero | openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 \
  2>/dev/null >"$shm/big.bin"

proc_cpu() {  # utime + stime of the process (all threads), in seconds
  awk -v t="$ticks" '{sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t}' "/proc/$1/stat"
}

# ---- linetls (core 0)

lt_start() {  # lt_start SERVICE...
  local -a serve=()
  for s in "$@"; do serve+=(--serve "$s"); done
  "$bin" --tap "$tap" --ip "$ip/24" --host-ip "$host/24" --lcores 0 --log-level 1 \
    "${serve[@]}" --cert "$dir/cert.pem" --key "$dir/key.pem" \
    >"$dir/lt.out" 2>"$dir/lt.err" &
  lt_pid=$!
  for _ in $(seq 300); do grep -q ready "$dir/lt.out" && break; sleep 0.1; done
  grep -q ready "$dir/lt.out" || { cat "$dir/lt.err" >&2; exit 1; }
  lt_c0=$(proc_cpu "$lt_pid")
}
lt_stop() {  # sets lt_busy, lt_proc (seconds), lt_hs (handshakes)
  lt_proc=$(awk -v a="$lt_c0" -v b="$(proc_cpu "$lt_pid")" 'BEGIN {printf "%.3f", b - a}')
  kill -INT "$lt_pid"
  wait "$lt_pid" || { echo "linetls exited with an error" >&2; tail -5 "$dir/lt.err" >&2; }
  lt_pid=
  read -r lt_busy lt_hs < <(awk '
       $1 == "counter" && $3 == "tsc_hz" {hz = $4}
       $1 == "counter" && $3 ~ /busy_cycles$/ {busy += $4}
       $1 == "counter" && $3 == "tls.handshakes" {hs += $4}
       END {printf "%.6f %d\n", busy / hz, hs}' "$dir/lt.out")
}
phases() {  # phases COUNT SCALE UNIT: the engine's busy phases of the last run, per COUNT
  awk -v n="$1" -v s="$2" -v u="$3" '
    $1 == "counter" && $3 == "tsc_hz" {hz = $4}
    $1 == "counter" && $3 ~ /^cycles\./ && $3 != "cycles.idle" {c[substr($3, 8)] += $4}
    END {printf "  engine phases (%s each):", u
         split("rx net_input tls_open apps tls_seal tcp_output tx timers", order, " ")
         for (i = 1; i in order; i++) printf " %s %.3g", order[i], c[order[i]] / hz / n * s
         printf "\n"}' "$dir/lt.out"
}

# ---- the nginx backend (core 1), on the TAP's host side and on loopback

ng_start() {
  cat >"$dir/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  root $shm;
  server { listen 127.0.0.1:$backend_port; }
  $(ip addr show dev "$tap" 2>/dev/null | grep -q "inet $host/" &&
    echo "server { listen $host:$backend_port; }")
}
EOF
  taskset -c 1 nginx -p "$dir" -c "$dir/nginx.conf" &
  ng_pid=$!
  # Ready when every listener accepts (a proxy row's first client must not find the
  # backend down: it would be skipped for --backend-down-ms).
  local addrs=(127.0.0.1)
  ip addr show dev "$tap" 2>/dev/null | grep -q "inet $host/" && addrs+=("$host")
  for a in "${addrs[@]}"; do
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/$a/$backend_port") 2>/dev/null && break
      sleep 0.1
    done
  done
}
ng_stop() { kill "$ng_pid"; wait "$ng_pid" 2>/dev/null || true; ng_pid=; }

# ---- haproxy (core 0), TLS termination in TCP mode to the same nginx

hap_start() {
  cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  cpu-map 1/1 0
  maxconn 4000
  ssl-default-bind-ciphersuites $suite
  ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend tls
  bind 127.0.0.1:$hap_port ssl crt $dir/haproxy.pem curves X25519
  default_backend nginx
backend nginx
  server ng 127.0.0.1:$backend_port
EOF
  haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
  hap_pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$hap_port") 2>/dev/null && break
    sleep 0.1
  done
  hap_c0=$(proc_cpu "$hap_pid")
}
hap_stop() {  # sets hap_proc
  hap_proc=$(awk -v a="$hap_c0" -v b="$(proc_cpu "$hap_pid")" 'BEGIN {printf "%.3f", b - a}')
  kill "$hap_pid"
  wait "$hap_pid" 2>/dev/null || true
  hap_pid=
}

# ---- clients (core 1)

s_time() {  # s_time HOST:PORT PATH: prints the connection count
  taskset -c 1 openssl s_time -connect "$1" -www "$2" -time "$secs" -new -tls1_3 \
    -ciphersuites "$suite" 2>&1 | tee -a "$dir/s_time.log" |
    awk '/connections in [0-9]+ real seconds/ {n = $1} END {print n + 0}' || true
}
fetch() {  # fetch URL: prints "bytes seconds"
  taskset -c 1 curl -sk --tlsv1.3 --tls13-ciphers "$suite" -o /dev/null \
    -w '%{size_download} %{time_total}\n' "$1"
}
per() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN {printf "%.1f", b ? a / b * s : 0}'; }
gib() { awk -v c="$1" -v b="$2" 'BEGIN {printf "%.3f", b ? c / (b / 1073741824) : 0}'; }
gbps() { awk -v b="$1" -v t="$2" 'BEGIN {printf "%.2f", b * 8 / t / 1e9}'; }

ulimit -n "$(ulimit -Hn)"  # haproxy wants about 2 x maxconn descriptors
declare -A res

# ---- A: per connection
lt_start "443=tls:http"
n=$(s_time "$ip:443" /)
lt_stop
res[a_http]=$(per "$lt_busy" "$lt_hs" 1e6)
res[a_httpp]=$(per "$lt_proc" "$lt_hs" 1e6)
echo "linetls tls:http:  s_time $n, handshakes $lt_hs: ${res[a_http]} us busy (${res[a_httpp]} us process) each"
phases "$lt_hs" 1e6 us

lt_start "443=tls:proxy:$host:$backend_port"
ng_start  # after the TAP exists: nginx listens on its host address too
n=$(s_time "$ip:443" /index.html)
ng_stop
lt_stop
res[a_proxy]=$(per "$lt_busy" "$lt_hs" 1e6)
res[a_proxyp]=$(per "$lt_proc" "$lt_hs" 1e6)
echo "linetls tls:proxy: s_time $n, handshakes $lt_hs: ${res[a_proxy]} us busy (${res[a_proxyp]} us process) each"
phases "$lt_hs" 1e6 us
grep -E ' proxy\.(clients|pairs_closed|backend_open|no_backend) ' "$dir/lt.out" | sed 's/^/  /'
[[ $(awk '$3 == "proxy.backend_open" {print $4}' "$dir/lt.out") == "$lt_hs" ]] ||
  echo "warning: not every proxied connection reached the backend" >&2

ng_start
hap_start
n=$(s_time "127.0.0.1:$hap_port" /index.html)
hap_stop
ng_stop
res[a_hap]=$(per "$hap_proc" "$n" 1e6)
echo "haproxy:           s_time $n: ${res[a_hap]} us process each"

# ---- B: per GiB
lt_start "443=tls:http"
read -r got t < <(fetch "https://$ip/bytes/$bytes")
lt_stop
res[b_http]=$(gib "$lt_busy" "$got"); res[b_httpp]=$(gib "$lt_proc" "$got")
res[g_http]=$(gbps "$got" "$t")
echo "linetls tls:http bulk:  $got bytes, ${res[g_http]} Gbit/s, ${res[b_http]} s/GiB busy (${res[b_httpp]})"
phases "$(awk -v b="$got" 'BEGIN {print b / 1073741824}')" 1 s/GiB

lt_start "443=tls:proxy:$host:$backend_port"
ng_start
read -r got t < <(fetch "https://$ip/big.bin")
ng_stop
lt_stop
res[b_proxy]=$(gib "$lt_busy" "$got"); res[b_proxyp]=$(gib "$lt_proc" "$got")
res[g_proxy]=$(gbps "$got" "$t")
echo "linetls tls:proxy bulk: $got bytes, ${res[g_proxy]} Gbit/s, ${res[b_proxy]} s/GiB busy (${res[b_proxyp]})"
phases "$(awk -v b="$got" 'BEGIN {print b / 1073741824}')" 1 s/GiB

ng_start
hap_start
read -r got t < <(fetch "https://127.0.0.1:$hap_port/big.bin")
hap_stop
ng_stop
res[b_hap]=$(gib "$hap_proc" "$got")
res[g_hap]=$(gbps "$got" "$t")
echo "haproxy bulk:           $got bytes, ${res[g_hap]} Gbit/s, ${res[b_hap]} s/GiB"

echo "== summary (server core: linetls busy cycles, process CPU in brackets; haproxy process CPU)"
awk -v h="${res[a_http]}" -v p="${res[a_proxy]}" -v pp="${res[a_proxyp]}" -v x="${res[a_hap]}" \
  'BEGIN {printf "per connection: tls:http %.1f us, tls:proxy %.1f us (%.1f), haproxy %.1f us;" \
          " proxy overhead %.1f us; haproxy/linetls-proxy %.2f\n", h, p, pp, x, p - h, p ? x / p : 0}'
awk -v h="${res[b_http]}" -v p="${res[b_proxy]}" -v pp="${res[b_proxyp]}" -v x="${res[b_hap]}" \
  'BEGIN {printf "per GiB: tls:http %.3f s, tls:proxy %.3f s (%.3f), haproxy %.3f s;" \
          " haproxy/linetls-proxy %.2f\n", h, p, pp, x, p ? x / p : 0}'
