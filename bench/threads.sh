#!/usr/bin/env bash
# Threads and asynchronous signals (issue 7):
#  1. stress: records each thread fixture RUNS times (default 50) and replays each
#     recording; prints how many replayed faithfully and the code-point ambiguity (passes
#     through a code point's instruction rejected before the right one);
#  2. record and replay times of the spin-wait fixture and of the SIGALRM busy loop
#     (Tests/Fixtures/alarm_busy_loop.c), medians of TIMED_RUNS (default 5), with their
#     ratios to a native run, by bench/code_points.sh.
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

echo
# The issue's two timed programs (replay must be no slower than recording), as medians.
RUNS=${TIMED_RUNS:-5} PROGRAMS="alarm_busy_loop spin_handoff" REWIND_BIN="$REWIND_BIN" bash "$root/bench/code_points.sh"
