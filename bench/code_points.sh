#!/usr/bin/env bash
# Code points (issue 7): native, record and replay times of programs whose asynchronous
# events land between system calls, which replay reaches with the in-process compare stub
# (DESIGN.md, principle 4), and their ratios to a native run measured here too:
#   alarm_loop N       bench/alarm_loop.c: SIGALRM every 2 ms in a busy loop, N alarms
#   alarm_work P       bench/alarm_work.c: the same, for a fixed P passes (~100 alarms here)
#   alarm_busy_loop    Tests/Fixtures/alarm_busy_loop.c: 24 SIGALRMs (setitimer, timer_create)
#   alarm_in_libc      Tests/Fixtures/alarm_in_libc.c: 20 SIGALRMs inside memcpy/memset/strlen
#   spin_handoff       Tests/Fixtures/spin_handoff.c: two threads spinning on an atomic
#   jit_loop           Tests/Fixtures/jit_loop.c: two threads preempted in a loop generated at
#                      run time, laid out as a JIT (HotSpot's C1) lays it out
#   jit_idiv_loop      Tests/Fixtures/jit_idiv_loop.c: the same for C1's `s += j % 7`, whose
#                      jcc land on both sides of the idiv the interrupts hit
# alarm_loop runs until its Nth alarm, so its replay redoes as many passes as the CPU
# managed in that time while recording: on this VM, whose speed for one loop varies up to
# twofold from one second to the next, its replay/record ratio measures that too.
# alarm_work does the same fixed work every run, so its ratio is the tools' alone.
# Each row is the median of RUNS (default 5) runs; every replay's stdout is compared with
# its recording's ("faithful" counts the identical ones). "by stub" is how many of the
# last replay's code points the compare stub found (the rest needed no run at all, or fell
# back to the hardware breakpoint).
# Usage: bench/code_points.sh   (REWIND_BIN=path to use a built rewind; else builds release)
#        ALARMS="3 100" to choose alarm_loop's alarm counts; PASSES alarm_work's passes; REPLAY_TIMEOUT (default 120 s)
#        PROGRAMS="alarm_busy_loop spin_handoff" for some rows only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-5}
limit=${REPLAY_TIMEOUT:-120}
cc=${CC:-cc}
alarms=(${ALARMS:-3 100})
programs=${PROGRAMS:-alarm_loop alarm_work alarm_busy_loop alarm_in_libc spin_handoff jit_loop jit_idiv_loop}
if [[ -z "${REWIND_BIN:-}" ]]; then
  (cd "$root" && swift build -c release >&2)
  REWIND_BIN="$(cd "$root" && swift build -c release --show-bin-path)/rewind"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-code-points.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REWIND_TRACE_DIR="$work/traces"

"$cc" -O1 -o "$work/alarm_loop" "$root/bench/alarm_loop.c"
"$cc" -O1 -o "$work/alarm_work" "$root/bench/alarm_work.c"
for f in alarm_busy_loop alarm_in_libc spin_handoff jit_loop jit_idiv_loop; do
  "$cc" -O0 -g -o "$work/$f" "$root/Tests/Fixtures/$f.c" -I "$root/Tests/Fixtures" -pthread
done

# Runs "$@" with stdout to $out; prints the elapsed seconds, or FAIL.
out=/dev/null
seconds() {
  local s e
  s=$(date +%s.%N)
  if "$@" >"$out" 2>/dev/null </dev/null; then
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
  else
    echo FAIL
  fi
}
median() {
  local v
  for v in "$@"; do [[ $v == FAIL ]] && { echo FAIL; return; }; done
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
ratio() {
  if [[ $1 == FAIL || $2 == FAIL ]]; then echo "-"; else
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx\n", a / b; else print "-" }'
  fi
}

printf '%-20s %8s %8s %8s %14s %14s %14s %9s %8s\n' program native record replay \
  record/native replay/native replay/record faithful "by stub"
bench() {
  local label=$1
  shift
  local native=() record=() replay=() faithful=0 i
  for ((i = 1; i <= runs; i++)); do
    out=/dev/null native+=("$(seconds "$@")")
    out="$work/rec.out" record+=("$(seconds "$REWIND_BIN" record -o "$work/t-$i" "$@")")
    out="$work/rep.out" replay+=("$(seconds timeout "$limit" "$REWIND_BIN" replay -a --quiet "$work/t-$i")")
    timeout "$limit" "$REWIND_BIN" replay -a "$work/t-$i" >"$work/rep.out" 2>/dev/null || true
    cmp -s "$work/rec.out" "$work/rep.out" && faithful=$((faithful + 1))
    local stats
    stats=$(cat "$work/t-$i/replay-stats.json" 2>/dev/null || echo '{}')
    stub=$(echo "$stats" | sed -n 's/.*"codePointsReachedByStub":\([0-9]*\).*/\1/p')
    reached=$(echo "$stats" | sed -n 's/.*"codePointsReached":\([0-9]*\).*/\1/p')
    [[ $i -lt $runs ]] && rm -rf "$work/t-$i"
  done
  local n r p
  n=$(median "${native[@]}") r=$(median "${record[@]}") p=$(median "${replay[@]}")
  printf '%-20s %8s %8s %8s %14s %14s %14s %9s %8s\n' "$label" "$n" "$r" "$p" \
    "$(ratio "$r" "$n")" "$(ratio "$p" "$n")" "$(ratio "$p" "$r")" "$faithful/$runs" "${stub:-?}/${reached:-?}"
  rm -rf "$work/t-$runs"
}
wanted() { [[ " $programs " == *" $1 "* ]]; }
if wanted alarm_loop; then for n in "${alarms[@]}"; do bench "alarm_loop $n" "$work/alarm_loop" "$n"; done; fi
if wanted alarm_work; then bench "alarm_work ${PASSES:-300000000}" "$work/alarm_work" "${PASSES:-300000000}"; fi
for p in alarm_busy_loop alarm_in_libc spin_handoff jit_loop jit_idiv_loop; do
  if wanted $p; then bench $p "$work/$p"; fi
done
