#!/usr/bin/env bash
# Fuzzes the decoders of untrusted input with libFuzzer: the trace reader's event decoder and
# stream frames (fuzz/TraceFuzzer.swift) and the GDB packet decoder and request parser
# (fuzz/GDBPacketFuzzer.swift), SECONDS each (default 60). Exits 1 if a target crashed and
# says where the input that crashed it is.
#
#   scripts/fuzz.sh [SECONDS]
#   scripts/fuzz.sh --make-trace-seeds OUTPUT-DIRECTORY TRACE...
#
# Each target is compiled with swiftc into one module with the sources it fuzzes, so it
# reaches internal types, and the normal `swift build` is unaffected. Inputs that find new
# code go to .build/fuzz/corpus/TARGET (kept between runs); the seeds are fuzz/corpus/TARGET.
# A crashing input belongs under Tests/FuzzFindings/TARGET, where FuzzFindingsTests replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/fuzz
mkdir -p "$out"

# lld: gold warns about every ASan symbol. -O: the checks that trap stay on in -O.
swift_flags=(-parse-as-library -O -use-ld=lld -I Sources/CZstd -I Sources/CXXHash)

compile() {  # compile NAME MODULE SANITIZERS FILE...
  local name=$1 module=$2 sanitizers=$3
  shift 3
  echo "fuzz: building $out/$name"
  swiftc "${swift_flags[@]}" -sanitize="$sanitizers" -module-name "$module" "$@" -o "$out/$name"
}

if [[ ${1:-} == --make-trace-seeds ]]; then
  shift
  compile make-trace-seeds TraceFormat address Sources/TraceFormat/*.swift fuzz/MakeTraceSeeds.swift
  exec "$out/make-trace-seeds" "$@"
fi

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: scripts/fuzz.sh [SECONDS] (a whole number of seconds per target, not '$seconds')" >&2
  exit 2
fi

# AddressSanitizer for the trace decoder, whose reads go through unsafe pointers and zstd; the
# packet code it would slow threefold has none.
compile trace-fuzzer TraceFormat fuzzer,address Sources/TraceFormat/*.swift fuzz/TraceFuzzer.swift
compile gdb-fuzzer GDBRemote fuzzer Sources/GDBRemote/*.swift fuzz/GDBPacketFuzzer.swift

failed=0
for target in trace gdb; do
  corpus=$out/corpus/$target
  crashes=$out/crashes/$target
  log=$out/$target.log
  mkdir -p "$corpus" "$crashes"
  echo "fuzz: running $target for ${seconds}s (log: $log)"
  # The Swift runtime's backtracer would handle the crash signal before libFuzzer saves the
  # input. Leak checks are off: the Swift runtime's lazy caches look like leaks to LSan.
  status=0
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$out/$target-fuzzer" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "fuzz/corpus/$target" \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if ((status != 0)); then
    failed=1
    input=$(sed -n "s/.*Test unit written to //p" "$log" | tail -1)
    grep -E "Fatal error|ERROR: |SUMMARY" "$log" | head -5 >&2 || true
    echo "fuzz: $target FAILED after ${runs:-?} runs (status $status);" \
      "the input is ${input:-not saved, see $log}" >&2
    echo "fuzz: reproduce with: SWIFT_BACKTRACE=enable=no $out/$target-fuzzer ${input:-FILE}" >&2
    echo "fuzz: once fixed, copy it to Tests/FuzzFindings/$target/ so the tests keep it" >&2
  else
    inputs=$(find "$corpus" -type f | wc -l)
    echo "fuzz: $target: ${runs:-?} runs in ${seconds}s, no crash ($inputs inputs in $corpus)"
  fi
done
exit $failed
