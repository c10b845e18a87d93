#!/usr/bin/env bash
# Installs the Debian 12 packages linetls needs (only those missing; quiet when all are
# present) and builds into build/ (or $LT_BUILD_DIR). Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # toolchain and build
  g++ meson ninja-build pkg-config
  # DPDK (net_tap, ethdev), ipsec-mb, OpenSSL
  libdpdk-dev dpdk libipsec-mb-dev libssl-dev openssl
  # the config file (--config): toml++
  libtomlplusplus-dev
  # linetls-perf's JSON report (--json)
  nlohmann-json3-dev
  # tests, benchmarks, fuzzing (clang + libFuzzer + sanitizer runtimes)
  libgtest-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  # integration tests: kernel-side clients and packet crafting
  iproute2 iputils-ping ethtool python3 python3-scapy curl socat gnutls-bin
  # TLS benchmark (scripts/bench_tls.sh): nginx as the kernel-TCP + OpenSSL baseline
  nginx
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${LT_BUILD_DIR:-build}
if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build" --buildtype=debugoptimized >/dev/null
fi
# LT_TARGETS: build only these targets (test.sh: what the gcc build's tests need).
# shellcheck disable=SC2086
ninja -C "$build" ${LT_TARGETS:-} >/dev/null || ninja -C "$build" ${LT_TARGETS:-}
