#!/usr/bin/env bash
# Runs linetls in TAP mode on built-in defaults: TAP "lt0", engine 10.99.0.2/24, kernel
# side 10.99.0.1/24. Needs root (creating a TAP device). Extra arguments go to linetls.
#   sudo scripts/run.sh            then, in another shell:  ping 10.99.0.2
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: needs root (it creates a TAP interface); try: sudo $0" >&2
  exit 1
fi
scripts/setup.sh
exec build/apps/linetls/linetls --tap "${LT_TAP:-lt0}" "$@"
