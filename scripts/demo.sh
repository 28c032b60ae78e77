#!/usr/bin/env bash
# Sets up, builds rewind in release mode, records and replays examples/demo.c, then records
# the forking web server of examples/webserver while a client crashes one of its children,
# lists the recorded processes, replays the crashed child alone and prints its backtrace under gdb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
rewind=$(swift build -c release --show-bin-path)/rewind
work=$(mktemp -d)
cc -O1 -g -o "$work/demo" examples/demo.c
export REWIND_TRACE_DIR="$work/traces"
echo "== rewind record $work/demo   (clocks, random bytes, a file, then a crash)"
"$rewind" record "$work/demo" "$work/demo-file.txt" || echo "(recorded exit status $?)"
echo "demo-file.txt was rewritten after recording" > "$work/demo-file.txt"
echo
echo "== rewind replay -a   (the same run again, from the trace: same times, same random bytes, same crash)"
"$rewind" replay -a && echo "(replay faithful: exit 0)"
echo
echo "trace: $(readlink -f "$REWIND_TRACE_DIR/latest-trace")"

echo
echo "== the web server demo (examples/webserver/demo.sh)"
REWIND="$rewind" bash examples/webserver/demo.sh
