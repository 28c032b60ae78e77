#!/usr/bin/env bash
# Threads and asynchronous signals (issue 7):
#  1. stress: records each thread fixture RUNS times (default 50) and replays each
#     recording; prints how many replayed faithfully and the code-point ambiguity (passes
#     through a code point's instruction rejected before the right one);
#  2. record and replay times of the spin-wait fixture and of a SIGALRM busy loop, whose
#     replay is bounded by REPLAY_TIMEOUT seconds (default 60).
# Usage: bench/threads.sh   (REWIND_BIN=path to use a built rewind; else builds release)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-50}
limit=${REPLAY_TIMEOUT:-60}
cc=${CC:-cc}
if [[ -z "${REWIND_BIN:-}" ]]; then
  (cd "$root" && swift build -c release >&2)
  REWIND_BIN="$(cd "$root" && swift build -c release --show-bin-path)/rewind"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-threads.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REWIND_TRACE_DIR="$work/traces"

fixtures=(threads_mutex spin_handoff thread_signal signal_in_handler)
for f in "${fixtures[@]}"; do "$cc" -O1 -o "$work/$f" "$root/Tests/Fixtures/$f.c" -I "$root/Tests/Fixtures"; done
"$cc" -O1 -o "$work/alarm_loop" "$root/bench/alarm_loop.c"

printf '%-20s %8s %10s %12s %10s\n' fixture runs faithful preemptions rejected
for f in "${fixtures[@]}"; do
  faithful=0 preemptions=0 rejected=0
  for i in $(seq "$runs"); do
    trace="$work/$f-$i"
    "$REWIND_BIN" record -o "$trace" "$work/$f" >"$work/rec.out" 2>/dev/null || true
    if timeout "$limit" "$REWIND_BIN" replay -a "$trace" >"$work/rep.out" 2>/dev/null && cmp -s "$work/rec.out" "$work/rep.out"; then
      faithful=$((faithful + 1))
    fi
    stats=$("$REWIND_BIN" stats --json "$trace" 2>/dev/null || echo '{}')
    preemptions=$((preemptions + $(echo "$stats" | sed -n 's/.*"preemptions" : \([0-9]*\).*/\1/p' | head -1 | grep . || echo 0)))
    rejected=$((rejected + $(echo "$stats" | sed -n 's/.*"passesRejected" : \([0-9]*\).*/\1/p' | head -1 | grep . || echo 0)))
    rm -rf "$trace"
  done
  printf '%-20s %8d %10d %12d %10d\n' "$f" "$runs" "$faithful" "$preemptions" "$rejected"
done

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 && e=$(date +%s.%N) && awk -v s="$s" -v e="$e" 'BEGIN{printf "%.3f", e-s}' || echo "timeout/fail"; }
echo
printf '%-20s %10s %10s %12s\n' program native record replay
for p in spin_handoff alarm_loop; do
  native=$(seconds "$work/$p")
  record=$(seconds "$REWIND_BIN" record -o "$work/t-$p" "$work/$p")
  replay=$(seconds timeout "$limit" "$REWIND_BIN" replay -a --quiet "$work/t-$p")
  printf '%-20s %10s %10s %12s\n' "$p" "$native" "$record" "$replay"
done
echo "(bench/code_points.sh times these against native runs, with ratios)"
