#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. build/      (gcc, -O2, warnings as errors): linetls and the benchmarks, and the TAP
#      integration tests against that linetls, one at a time;
#   2. build-san/  (clang-14, ASan + UBSan + libFuzzer, warnings as errors): every test
#      under sanitizers: unit tests in parallel, root and TAP integration tests one at a
#      time, the fuzz targets over their committed corpora, and each fuzz target live for
#      LT_FUZZ_SECONDS (default 5; 0 skips the live runs; the long runs are separate).
# The unit tests are built and run once, in the sanitizer build: building them twice was
# half of a 19-minute CI run. LT_ALL_TWICE=1 builds and runs them in build/ as well.
# Ends with one line "N passed, N failed, N skipped" over both builds.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n ${LT_ALL_TWICE:-} ]]; then
  scripts/setup.sh
else
  LT_TARGETS="apps/linetls/linetls apps/linetls-perf/linetls-perf bench/linetls_bench" scripts/setup.sh
fi
build=${LT_BUILD_DIR:-build}
san=${LT_SAN_BUILD_DIR:-build-san}
fuzz_seconds=${LT_FUZZ_SECONDS:-5}

if [[ ! -f "$san/build.ninja" ]]; then
  # -O1 and line tables only (what ASan and libFuzzer recommend; stack traces keep file:line):
  # the sanitizer build is half of a CI run, and this takes 7m39s -> 6m39s here with the
  # same tests passing in the same time. -Dstrict=enabled keeps -Werror (a custom build type
  # would drop it).
  CXX=clang++-14 meson setup "$san" -Dsanitize=true -Dfuzz=true -Dbench=false \
    -Doptimization=1 -Ddebug=false -Dcpp_args=-gline-tables-only -Dstrict=enabled >/dev/null
fi
ninja -C "$san" >/dev/null || ninja -C "$san"

status=0
if [[ -n ${LT_ALL_TWICE:-} ]]; then
  meson test -C "$build" --print-errorlogs --num-processes 2 || status=1
else
  # The optimised build runs what the sanitizer build cannot (memif_perf) and the README's
  # own path (tap_tls: curl and openssl against build/'s linetls); the other TAP tests run
  # once, under sanitizers below (LT_ALL_TWICE=1 runs every one here as well). Running them
  # in both builds was a minute of a 15-minute budget.
  meson test -C "$build" --no-rebuild --print-errorlogs memif_perf tap_tls || status=1
fi
# memif_perf (two DPDK processes, ~20 s) runs once, in build/: its code is the engine's and
# the client sessions', which the sanitizer build covers in tls_connect_test and the
# tls_client fuzz target.
meson test -C "$san" --print-errorlogs --num-processes 2 --no-suite memif || status=1

# Live fuzzing: new inputs go to a scratch directory, never into the committed corpus.
fuzz_failed=0
if ((fuzz_seconds > 0)); then
  for f in "$san"/tests/fuzz/*_fuzz; do
    [[ -x "$f" ]] || continue
    name=$(basename "$f" _fuzz)
    scratch=$(mktemp -d)
    mkdir "$scratch/new"
    if "$f" -max_total_time="$fuzz_seconds" -print_final_stats=0 \
        -artifact_prefix="$scratch/" "$scratch/new" "tests/fuzz/corpus/$name" \
        >"$scratch/log" 2>&1; then
      echo "fuzz $name: ${fuzz_seconds}s clean"
    else
      echo "fuzz $name: FAILED (artifacts in $scratch)"; tail -30 "$scratch/log"
      fuzz_failed=$((fuzz_failed + 1))
      continue
    fi
    rm -rf "$scratch"
  done
fi

python3 - "$build/meson-logs/testlog.json" "$san/meson-logs/testlog.json" "$fuzz_failed" <<'PY' || status=1
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:3]:
    for line in open(path):
        r = json.loads(line)
        res = r.get("result")
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += 1
            print(f"FAILED: {path.split('/')[0]} {r.get('name')} ({res})")
failed += int(sys.argv[3])
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
exit $status
