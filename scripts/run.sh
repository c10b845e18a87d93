#!/usr/bin/env bash
# Runs linetls in TAP mode on built-in defaults: TAP "lt0", engine 10.99.0.2/24, kernel
# side 10.99.0.1/24, serving echo on 7, discard on 9, http on 8080 and HTTPS (TLS 1.3
# terminated in the engine, self-signed certificate) on 443. Needs root (it creates a TAP
# interface). Extra arguments go to linetls.
#
#   sudo scripts/run.sh           run until Ctrl-C; talk to it from another shell:
#                                   ping 10.99.0.2;  curl http://10.99.0.2:8080/
#                                   curl -k https://10.99.0.2/
#   sudo scripts/run.sh --demo    start it, let ping and curl talk to it, stop it
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: needs root (it creates a TAP interface); try: sudo $0 $*" >&2
  exit 1
fi
LT_BUILD_DIR=${LT_BUILD_DIR:-build} scripts/setup.sh
bin=${LT_BUILD_DIR:-build}/apps/linetls/linetls
tap=${LT_TAP:-lt0}
ip=10.99.0.2
args=(--tap "$tap" --serve 7=echo --serve 9=discard --serve 8080=http --serve 443=tls:http)

if [[ "${1:-}" != "--demo" ]]; then
  exec "$bin" "${args[@]}" "$@"
fi
shift
out=$(mktemp)
"$bin" "${args[@]}" "$@" >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
grep ready "$out" || { echo "run.sh: linetls did not start" >&2; exit 1; }
set -x
ping -c 3 -i 0.2 "$ip"
ip neigh show "$ip" dev "$tap"
curl -sS "http://$ip:8080/"
curl -sS -o /dev/null -w 'curl: %{size_download} bytes from /bytes/104857600 at %{speed_download} B/s\n' \
  "http://$ip:8080/bytes/104857600"
curl -sSk --tlsv1.3 "https://$ip/"
curl -sSk --tlsv1.3 -o /dev/null \
  -w 'curl: %{size_download} bytes over TLS 1.3 from /bytes/1048576 at %{speed_download} B/s\n' \
  "https://$ip/bytes/1048576"
echo "hello through the userspace echo service" | socat -t 2 - "TCP:$ip:7" 2>/dev/null ||
  /usr/bin/python3 -c "import socket; s=socket.create_connection(('$ip',7)); s.sendall(b'hello through echo\n'); print(s.recv(100).decode().strip())"
set +x
kill -INT $pid
wait $pid || true
grep -E 'icmp_echo_replied|arp_request_answered|passive_opens|bytes_out' "$out"
grep -E ' tls\.' "$out" | grep -v ' 0$' || true
