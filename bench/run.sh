#!/usr/bin/env bash
# Measures rewind's overhead (issue 14's benchmark): for each workload, the median of RUNS
# (default 3) wall-clock runs of it alone, under `rewind record`, under `rewind replay -a
# --quiet`, and the same with `rewind record --syscall-buffer` (the in-process system call
# buffer, off by default) and the replay of that recording; then the ratios to native, and
# for each the events, the share of calls the buffer took, trace bytes an event, and the
# per-call cost of the slow path and of the buffer.
#
# Workloads: syscall_heavy (200,000 reads and writes of /dev/zero, /dev/null); (a)
# pipe_child, 200,000 small writes to a pipe read by a child; (f) tcp_echo, 20,000 echoed
# messages over TCP on 127.0.0.1; (b) cpu_loop; fork_cpu (two CPU-bound children at once,
# whose ratio shows whether independent processes are recorded in parallel); (c)
# python_files, python3 opening, reading and stating 500 files; (d) gcc_O2, gcc -O2 -c of a
# 2,000-line file; (e) make_j2, make -j2 of a 20-file C project; (g) sqlite3, 50,000 rows
# inserted in one transaction; (h) python_threads, python3 hashing in 4 threads of a
# ThreadPoolExecutor.
#
# Usage: bench/run.sh            builds rewind with `swift build -c release`
#        REWIND_BIN=path bench/run.sh   uses that binary instead
#        WORKLOADS="tcp_echo sqlite3" bench/run.sh   runs only those
# CC (default cc) compiles the programs at -O2. Traces go to a temp dir that is
# removed at the end. rewind pins its own tracer; we pin nothing here.
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

programs=(syscall_heavy pipe_child tcp_echo cpu_loop fork_cpu)
for p in "${programs[@]}"; do
  "$cc" -O2 -Wall -o "$work/$p" "$root/bench/$p.c"
done

# Issue 14's workloads beyond the C programs: (c) python3 opening, reading and stating 500
# files; (d) gcc -O2 -c of a 2,000-line file; (e) make -j2 of a 20-file C project; (g)
# sqlite3 inserting 50,000 rows in one transaction; (h) python3 hashing in 4 threads.
# (a) is pipe_child, (b) cpu_loop, (f) tcp_echo. The real python binary, not a shim.
python=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$work/files" "$work/project"
for i in $(seq 500); do head -c $((i * 37 % 4000 + 100)) /dev/urandom >"$work/files/f$i"; done
cat >"$work/files.py" <<'PY'
import os, sys
total = 0
for name in sorted(os.listdir(sys.argv[1])):
    path = os.path.join(sys.argv[1], name)
    total += os.stat(path).st_size
    with open(path, "rb") as f:
        total += len(f.read())
print("files.py", total)
PY
cat >"$work/threads.py" <<'PY'
import hashlib
from concurrent.futures import ThreadPoolExecutor
def work(k):
    h = hashlib.sha256()
    for i in range(2000):
        h.update(str(k * i).encode() * 8)
    return h.hexdigest()
with ThreadPoolExecutor(max_workers=4) as pool:
    print("threads.py", hashlib.sha256("".join(pool.map(work, range(64))).encode()).hexdigest()[:16])
PY
{
  for i in $(seq 400); do
    echo "int f$i(int x) { int s = 0; for (int i = 0; i < x; i++) { s += i * $i; if (s > 1000) s -= x; }"
    echo "  return s + $i; }"
    echo "static int g$i(int a, int b) { return a * b + f$i(a) - $i; }"
    echo "int h$i(int v) { return g$i(v, v + 1); }"
    echo
  done
} >"$work/big.c"
for i in $(seq 20); do
  printf 'int part%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i ^ %d; return s; }\n' "$i" "$i" >"$work/project/part$i.c"
done
{
  for i in $(seq 20); do echo "int part$i(int);"; done
  echo "#include <stdio.h>"
  echo "int main(void) { int s = 0;"
  for i in $(seq 20); do echo "  s += part$i(100);"; done
  echo '  printf("%d\n", s); return 0; }'
} >"$work/project/main.c"
cat >"$work/project/Makefile" <<'MAKE'
objects := $(patsubst %.c,%.o,$(wildcard *.c))
prog: $(objects)
	$(CC) -o $@ $^
%.o: %.c
	$(CC) -O2 -c -o $@ $<
MAKE
{
  echo "DROP TABLE IF EXISTS t; CREATE TABLE t(a INTEGER, b TEXT); BEGIN;"
  for i in $(seq 50000); do echo "INSERT INTO t VALUES($i, 'row $i');"; done
  echo "COMMIT; SELECT count(*), sum(a) FROM t;"
} >"$work/insert.sql"

workloads=(syscall_heavy pipe_child tcp_echo cpu_loop fork_cpu python_files gcc_O2 make_j2 sqlite3 python_threads)
# The command of workload $1, in the array `command`.
command_of() {
  case $1 in
    python_files) command=("$python" "$work/files.py" "$work/files") ;;
    gcc_O2) command=("$cc" -O2 -c -o "$work/big.o" "$work/big.c") ;;
    make_j2) command=(make -s -B -j2 -C "$work/project") ;;
    sqlite3) command=(sqlite3 "$work/bench.db" ".read $work/insert.sql") ;;
    python_threads) command=("$python" "$work/threads.py") ;;
    *) command=("$work/$1") ;;
  esac
}

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

# Events in a trace, and how many of its calls went through the buffer (`rewind stats`).
events_of() { "$REWIND_BIN" stats "$1" 2>/dev/null | awk '$1 == "events" { print $2 }'; }
buffered_of() { "$REWIND_BIN" stats "$1" 2>/dev/null | awk '$1 == "syscalls" { sub(":", "", $2); print $2, $3 }'; }
# Bytes of a trace on disk (the mapped files it copied aside).
bytes_of() { du -sb --exclude=files "$1" | cut -f1; }

selected=(${WORKLOADS:-${workloads[@]}})
rows=() details=()
for p in "${selected[@]}"; do
  command_of "$p"
  native=() record=() replay=() buffered=() bufferedReplay=()
  for ((i = 1; i <= runs; i++)); do
    native+=("$(time_once "$work/$p.native.log" "${command[@]}")")
    record+=("$(time_once "$work/$p.record.log" "$REWIND_BIN" record -o "$work/trace-$p-$i" "${command[@]}")")
    buffered+=("$(time_once "$work/$p.buffered.log" "$REWIND_BIN" record --syscall-buffer -o "$work/buffered-$p-$i" "${command[@]}")")
  done
  # Each recording that succeeded replays once.
  for ((i = 1; i <= runs; i++)); do
    replay+=("$([[ ${record[i - 1]} == FAIL ]] && echo FAIL ||
      time_once "$work/$p.replay.log" "$REWIND_BIN" replay -a --quiet "$work/trace-$p-$i")")
    bufferedReplay+=("$([[ ${buffered[i - 1]} == FAIL ]] && echo FAIL ||
      time_once "$work/$p.breplay.log" "$REWIND_BIN" replay -a --quiet "$work/buffered-$p-$i")")
  done
  n=$(median "${native[@]}") rec=$(median "${record[@]}") rep=$(median "${replay[@]}")
  buf=$(median "${buffered[@]}") brep=$(median "${bufferedReplay[@]}")
  rows+=("$(printf '%-14s %9s %9s %9s %13s %13s %9s %13s %13s' "$p" "$n" "$rec" "$rep" \
    "$(ratio "$rec" "$n")" "$(ratio "$rep" "$n")" "$buf" "$(ratio "$buf" "$n")" "$(ratio "$brep" "$n")")")
  if [[ -d $work/trace-$p-1 && -d $work/buffered-$p-1 ]]; then
    plain=$(events_of "$work/trace-$p-1") events=$(events_of "$work/buffered-$p-1")
    read -r calls through < <(buffered_of "$work/buffered-$p-1")
    details+=("$(printf '%-14s %9s %9s %9s %10s %10s' "$p" "$plain" "$events" "$through/$calls" \
      "$(( $(bytes_of "$work/trace-$p-1") / (plain > 0 ? plain : 1) ))" "$(( $(bytes_of "$work/buffered-$p-1") / (events > 0 ? events : 1) ))")")
    if [[ $p == syscall_heavy && $rec != FAIL && $buf != FAIL ]]; then
      # Its 200,000 calls are nearly all of its events.
      slow=$(awk -v r="$rec" -v n="$n" -v e="$plain" 'BEGIN { printf "%.1f", (r - n) / e * 1e6 }')
      fast=$(awk -v r="$buf" -v n="$n" -v e="$events" 'BEGIN { printf "%.1f", (r - n) / e * 1e6 }')
    fi
  fi
done

echo "median of $runs runs, seconds ($(basename "$REWIND_BIN") = $REWIND_BIN)"
printf '%-14s %9s %9s %9s %13s %13s %9s %13s %13s\n' program native record replay record/native replay/native \
  buffered buffered/nat b.replay/nat
printf '%s\n' "${rows[@]}"
echo
echo "traces (the first run's): events without and with the buffer, calls the buffer took of all calls, trace bytes an event"
printf '%-14s %9s %9s %9s %10s %10s\n' program events b.events buffered bytes/ev b.bytes/ev
printf '%s\n' "${details[@]}"
[[ -n ${slow:-} ]] && echo "per call, syscall_heavy: the slow path (ptrace stops) ${slow} us, the buffer ${fast} us, over native"
exit 0
