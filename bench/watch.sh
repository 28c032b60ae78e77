#!/usr/bin/env bash
# rewind watch (issue 16), in one run, medians of RUNS (default 5):
#  1. a program writing other memory OTHER times (default 300M) with a watched variable it
#     never writes: its time under `rewind watch` against native (target: within 2%);
#  2. the same program writing the watched variable HITS times (default 20000) from 10
#     calls deep: the cost of each reported hit with its 10-frame backtrace (target: under
#     100 µs), (watched - native) / HITS, reports written to a file.
# Usage: bench/watch.sh   (REWIND_BIN=path to use a built rewind; else builds release)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-5}
other=${OTHER:-300000000}
hits=${HITS:-20000}
cc=${CC:-cc}
if [[ -z "${REWIND_BIN:-}" ]]; then
  (cd "$root" && swift build -c release >&2)
  REWIND_BIN="$(cd "$root" && swift build -c release --show-bin-path)/rewind"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-watch.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$cc" -O1 -g -fno-omit-frame-pointer -o "$work/target" "$root/bench/watch_target.c"

# Seconds of one run of "$@", stdout to $work/out.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/out" 2>/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for i in $(seq "$runs"); do
  seconds "$work/target" 0 "$other" >>"$work/native-quiet"
  seconds "$REWIND_BIN" watch --symbol watched -- "$work/target" 0 "$other" >>"$work/watch-quiet"
  seconds "$work/target" "$hits" 0 >>"$work/native-hits"
  seconds "$REWIND_BIN" watch --symbol watched --depth 10 -- "$work/target" "$hits" 0 >>"$work/watch-hits"
done
nq=$(median <"$work/native-quiet"); wq=$(median <"$work/watch-quiet")
nh=$(median <"$work/native-hits"); wh=$(median <"$work/watch-hits")
reported=$("$REWIND_BIN" watch --symbol watched --depth 10 -- "$work/target" "$hits" 0 2>/dev/null | grep -c ': write of watched')
frames=$("$REWIND_BIN" watch --symbol watched --depth 10 --max-hits 1 -- "$work/target" 1 0 2>/dev/null | grep -c '^  #')
printf 'no hits:  native %.3f s, under rewind watch %.3f s: %+.1f%% (target: within 2%%)\n' "$nq" "$wq" "$(echo "($wq / $nq - 1) * 100" | bc -l)"
printf 'per hit:  %d hits reported of %d, %d frames each: native %.3f s, watched %.3f s: %.1f µs a hit (target: under 100 µs)\n' \
  "$reported" "$hits" "$frames" "$nh" "$wh" "$(echo "($wh - $nh) / $hits * 1000000" | bc -l)"
