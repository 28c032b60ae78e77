#!/usr/bin/env bash
# The process-tree demo: record a forking web server while a client sends it
# two requests, one of which crashes the child that serves it; list the
# recorded processes with `rewind ps`, then replay the crashed child alone, and
# open gdb on it to print the backtrace of the crash.
#
# Usage: examples/webserver/demo.sh
#   REWIND  the rewind binary (default: `rewind` on PATH)
#   CC      the C compiler (default: cc)
#   TRACE   where to write the trace (default: a new directory under $TMPDIR, kept)
#
# Every wait is bounded, and the recorder is killed on the way out if it is
# still running, so the script never leaves a process behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rewind=${REWIND:-rewind}
cc=${CC:-cc}
if ! command -v "$rewind" >/dev/null; then
  echo "demo.sh: no rewind binary ($rewind): build it with \`swift build\` and set REWIND=.build/debug/rewind" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-webserver.XXXXXX")
trace=${TRACE:-$work/trace}
recorder=
cleanup() {
  if [[ -n $recorder ]] && kill -0 "$recorder" 2>/dev/null; then
    kill -TERM "$recorder" 2>/dev/null || true # rewind takes its tracees down with it
    for _ in $(seq 30); do kill -0 "$recorder" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$recorder" 2>/dev/null || true
  fi
  # Keep the trace, drop the rest.
  find "$work" -mindepth 1 -maxdepth 1 ! -path "$trace" -exec rm -rf {} +
  rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT

# Shows a command before its output, in bold on a terminal.
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

"$cc" -O0 -g -Wall -o "$work/webserver" "$here/webserver.c"
"$cc" -O0 -g -Wall -o "$work/client" "$here/client.c"

# Record the server: port 0 (any free port), stop after 2 connections.
step "$rewind record -o $trace $work/webserver 0 2 &"
# Made here: the background job's redirection may come after the first look at it below
# (awk failing on a missing file ended the script under set -e).
: >"$work/server.out"
"$rewind" record -o "$trace" "$work/webserver" 0 2 >"$work/server.out" 2>&1 &
recorder=$!

port=
for _ in $(seq 300); do # 30 s
  port=$(awk '/^listening on / { print $3; exit }' "$work/server.out")
  [[ -n $port ]] && break
  kill -0 "$recorder" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "demo.sh: the server never said 'listening on':" >&2
  cat "$work/server.out" >&2
  exit 1
fi
echo "listening on $port"

step "client $port /"
timeout 20 "$work/client" "$port" /
step "client $port /crash"
timeout 20 "$work/client" "$port" /crash

# The server exits after its second connection; rewind record follows it.
for _ in $(seq 600); do # 60 s
  kill -0 "$recorder" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$recorder" 2>/dev/null; then
  echo "demo.sh: the recording did not finish within 60 s" >&2
  exit 1
fi
status=0
wait "$recorder" || status=$?
recorder=
echo "--- what the server printed under rewind record (exit $status) ---"
cat "$work/server.out"

step "$rewind ps $trace"
"$rewind" ps "$trace"

# The crashed child: the row whose EXIT is SIGSEGV.
if command -v python3 >/dev/null; then
  crashed=$("$rewind" ps "$trace" --json | python3 -c '
import json, sys
print(next((str(p["pid"]) for p in json.load(sys.stdin) if p["signal"] == "SIGSEGV"), ""))')
else
  crashed=$("$rewind" ps "$trace" | awk -F'\t' '$3 == "SIGSEGV" { print $1; exit }')
fi
if [[ -z $crashed ]]; then
  echo "demo.sh: no process died of SIGSEGV in $trace" >&2
  exit 1
fi

step "$rewind replay -a --process $crashed $trace"
timeout 120 "$rewind" replay -a --process "$crashed" "$trace"

# The same child under gdb, from its fork: run to the crash and show where it was, then
# watch the NULL pointer and run backwards to the line that set it. Without the --
# arguments this is an interactive gdb session.
if command -v gdb >/dev/null; then
  step "$rewind replay -f $crashed $trace -- -batch -ex continue -ex bt -ex 'watch -l page' -ex reverse-continue"
  timeout 120 "$rewind" replay -f "$crashed" "$trace" -- -nx -batch -ex continue -ex bt -ex 'watch -l page' \
    -ex reverse-continue 2>&1 | grep -v -e '^Reading ' -e '^warning: File transfers' || true
else
  echo "(gdb is not installed: apt-get install gdb, then: $rewind replay -f $crashed $trace)"
fi
echo
echo "The trace is in $trace: \`$rewind dump --pid $crashed $trace\` lists what the crashed child did."
