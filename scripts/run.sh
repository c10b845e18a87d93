#!/usr/bin/env bash
# Runs linetls in TAP mode on built-in defaults: TAP "lt0", engine 10.99.0.2/24, kernel
# side 10.99.0.1/24. The main use first: HTTPS on 443 terminated in the engine (TLS 1.3 and
# 1.2, self-signed certificate) and proxied to a real backend, nginx on the kernel side of
# the TAP (10.99.0.1:8081, on a config this script writes to a temporary directory), with a
# PROXY protocol v2 header so nginx sees the client's address. Beside it the built-in apps:
# echo on 7, discard on 9, http on 8080 and the same http behind TLS on 8443. Needs root
# (it creates a TAP interface). Extra arguments go to linetls.
#
#   scripts/run.sh           run until Ctrl-C; talk to it from another shell:
#                              curl -k https://10.99.0.2/        (through the proxy to nginx)
#                              curl -k https://10.99.0.2:8443/   (the engine's own http app)
#                              ping 10.99.0.2;  curl http://10.99.0.2:8080/
#   scripts/run.sh --demo    start it, let ping, curl and socat talk to it, stop it
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: needs root (it creates a TAP interface)" >&2
  exit 1
fi
LT_BUILD_DIR=${LT_BUILD_DIR:-build} scripts/setup.sh
bin=${LT_BUILD_DIR:-build}/apps/linetls/linetls
tap=${LT_TAP:-lt0}
ip=10.99.0.2
host=10.99.0.1
args=(--tap "$tap" --serve 443=tls:proxy:$host:8081 --proxy-protocol v2
      --serve 7=echo --serve 9=discard --serve 8080=http --serve 8443=tls:http)

demo=0
if [[ "${1:-}" == "--demo" ]]; then
  demo=1
  shift
fi
tmp=$(mktemp -d)
out=$tmp/linetls.out
pid=""
cleanup() {
  [[ -f $tmp/nginx.pid ]] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" "${args[@]}" "$@" >"$out" &
pid=$!
for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
grep ready "$out" || { echo "run.sh: linetls did not start" >&2; exit 1; }

# The backend: nginx behind the proxy, reading PROXY v2 from linetls.
mkdir -p "$tmp/www"
echo "hello from nginx behind linetls" >"$tmp/www/index.html"
cat >"$tmp/nginx.conf" <<EOF
daemon on;
worker_processes 1;
user root;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/body;
  server {
    listen $host:8081 proxy_protocol;
    root $tmp/www;
    location = /whoami {
      default_type text/plain;
      return 200 "nginx saw the client at \$proxy_protocol_addr:\$proxy_protocol_port (the connection came from \$remote_addr)\n";
    }
  }
}
EOF
nginx -p "$tmp" -c "$tmp/nginx.conf"

if ((demo == 0)); then
  echo "run.sh: serving; Ctrl-C stops linetls and nginx"
  tail -f "$out" --pid "$pid" &
  wait "$pid" || true
  exit 0
fi

set -x
ping -c 3 -i 0.2 "$ip"
ip neigh show "$ip" dev "$tap"
curl -sSk --tlsv1.3 "https://$ip/"
curl -sSk --tlsv1.3 "https://$ip/whoami"
curl -sSk --tlsv1.2 --tls-max 1.2 "https://$ip/whoami"
curl -sS "http://$ip:8080/"
curl -sS -o /dev/null -w 'curl: %{size_download} bytes from /bytes/104857600 at %{speed_download} B/s\n' \
  "http://$ip:8080/bytes/104857600"
curl -sSk --tlsv1.3 -o /dev/null \
  -w 'curl: %{size_download} bytes over TLS 1.3 from /bytes/1048576 at %{speed_download} B/s\n' \
  "https://$ip:8443/bytes/1048576"
echo "hello through the userspace echo service" | socat -t 2 - "TCP:$ip:7" 2>/dev/null ||
  /usr/bin/python3 -c "import socket; s=socket.create_connection(('$ip',7)); s.sendall(b'hello through echo\n'); print(s.recv(100).decode().strip())"
set +x
kill -INT $pid
wait $pid || true
pid=""
grep -E 'icmp_echo_replied|arp_request_answered|passive_opens|bytes_out' "$out"
grep -E ' tls\.| proxy\.' "$out" | grep -v ' 0$' || true
