#!/usr/bin/env bash
# Measures rewind's overhead: for each benchmark program (fork_cpu: two
# CPU-bound children at once, whose record/native ratio shows whether
# independent processes are recorded in parallel), the median of RUNS
# (default 3) wall-clock runs of the program alone, under `rewind record`, and
# under `rewind replay -a --quiet`, then the ratios to native.
#
# Usage: bench/run.sh            builds rewind with `swift build -c release`
#        REWIND_BIN=path bench/run.sh   uses that binary instead
# CC (default cc) compiles the programs at -O2. Traces go to a temp dir that is
# removed at the end. rewind pins its own tracer; we pin nothing here.
# The "buffered" columns are `rewind record --syscall-buffer` (the in-process system call
# buffer, off by default) and the replay of that recording.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-3}
cc=${CC:-cc}

if [[ -z "${REWIND_BIN:-}" ]]; then
  echo "building rewind (release)..." >&2
  (cd "$root" && swift build -c release >&2)
  REWIND_BIN="$(cd "$root" && swift build -c release --show-bin-path)/rewind"
fi
if [[ ! -x "$REWIND_BIN" ]]; then
  echo "no rewind binary at $REWIND_BIN (run swift build -c release, or set REWIND_BIN)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REWIND_TRACE_DIR="$work/traces"

programs=(syscall_heavy pipe_child cpu_loop fork_cpu)
for p in "${programs[@]}"; do
  "$cc" -O2 -Wall -o "$work/$p" "$root/bench/$p.c"
done

# Runs "$@" with output to a log; prints the elapsed seconds, or "FAIL" when
# the command exits nonzero (its log is then copied to stderr).
time_once() {
  local log=$1
  shift
  local start end status=0
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1 </dev/null || status=$?
  end=$(date +%s.%N)
  if ((status != 0)); then
    { echo "FAILED (exit $status): $*"; tail -n 20 "$log"; } >&2
    echo FAIL
  else
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
  fi
}

# Prints the median of its arguments, or FAIL if any run failed.
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

rows=()
for p in "${programs[@]}"; do
  native=() record=() replay=() buffered=() bufferedReplay=()
  for ((i = 1; i <= runs; i++)); do
    native+=("$(time_once "$work/$p.native.log" "$work/$p")")
    record+=("$(time_once "$work/$p.record.log" "$REWIND_BIN" record -o "$work/trace-$p-$i" "$work/$p")")
    buffered+=("$(time_once "$work/$p.buffered.log" "$REWIND_BIN" record --syscall-buffer -o "$work/buffered-$p-$i" "$work/$p")")
  done
  for ((i = 1; i <= runs; i++)); do
    if [[ ${buffered[i - 1]} != FAIL ]]; then
      bufferedReplay+=("$(time_once "$work/$p.breplay.log" "$REWIND_BIN" replay -a --quiet "$work/buffered-$p-$i")")
    else
      bufferedReplay+=(FAIL)
    fi
  done
  # Replay the first recording that succeeded, RUNS times.
  trace=
  for ((i = 1; i <= runs; i++)); do
    if [[ ${record[i - 1]} != FAIL ]]; then trace="$work/trace-$p-$i"; break; fi
  done
  for ((i = 1; i <= runs; i++)); do
    if [[ -n $trace ]]; then
      replay+=("$(time_once "$work/$p.replay.log" "$REWIND_BIN" replay -a --quiet "$trace")")
    else
      replay+=(FAIL)
    fi
  done
  n=$(median "${native[@]}") rec=$(median "${record[@]}") rep=$(median "${replay[@]}")
  buf=$(median "${buffered[@]}") brep=$(median "${bufferedReplay[@]}")
  rows+=("$(printf '%-14s %9s %9s %9s %13s %13s %9s %13s %13s' "$p" "$n" "$rec" "$rep" \
    "$(ratio "$rec" "$n")" "$(ratio "$rep" "$n")" "$buf" "$(ratio "$buf" "$n")" "$(ratio "$brep" "$n")")")
done

echo "median of $runs runs, seconds ($(basename "$REWIND_BIN") = $REWIND_BIN)"
printf '%-14s %9s %9s %9s %13s %13s %9s %13s %13s\n' program native record replay record/native replay/native \
  buffered buffered/nat b.replay/nat
printf '%s\n' "${rows[@]}"
