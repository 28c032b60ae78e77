#!/usr/bin/env bash
# Reverse execution (issue 13): a recording of N system-call events (default 1,000,000;
# bench/reverse_target.c: one getppid an iteration) ending in a crash, with a variable last
# written at about 95% of the way and a function called near the start. Under gdb, in one
# session, it prints:
#   - a full forward replay without gdb (`rewind replay -a`), and gdb's `continue` to the crash;
#   - `watch -l watched` + reverse-continue from the crash to its last write;
#   - `break near_start` + reverse-continue to that call, near the start;
#   - the median of 100 reverse-stepi from there;
#   - the memory the automatic checkpoints hold of their own (private dirty pages), against
#     the replayed process's resident size.
# Targets (issue 13): the reverse-continue to the late write under 1 s, reverse-stepi under
# 50 ms, no reverse command slower than the full forward replay, checkpoints holding less
# than the process's resident size.
# Usage: bench/reverse.sh   (REWIND_BIN=path to use a built rewind; else builds release)
#        EVENTS=100000 for a shorter run; CHECKPOINT_EVERY (default: rewind's own default)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
events=${EVENTS:-1000000}
cc=${CC:-cc}
if [[ -z "${REWIND_BIN:-}" ]]; then
  (cd "$root" && swift build -c release >&2)
  REWIND_BIN="$(cd "$root" && swift build -c release --show-bin-path)/rewind"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-reverse.XXXXXX")
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export REWIND_TRACE_DIR="$work/traces"

"$cc" -O1 -g -o "$work/reverse_target" "$root/bench/reverse_target.c"
# Milliseconds a command takes (its failure, the crash, is expected).
milliseconds() {
  local start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  echo $((($(date +%s%N) - start) / 1000000))
}
native=$(milliseconds "$work/reverse_target" "$events")
recorded=$(milliseconds "$REWIND_BIN" record -o "$work/trace" "$work/reverse_target" "$events")
replayed=$(milliseconds "$REWIND_BIN" replay -a -q "$work/trace")
echo "events                       $events (native $native ms, record $recorded ms)"
echo "full forward replay (-a)     $replayed ms"

cat >"$work/bench.gdb" <<'GDB'
python
import re, statistics, time
def timed(command):
    t = time.time()
    gdb.execute(command, to_string=True)
    return time.time() - t
print("gdb continue to the crash    %.3f s" % timed("continue"))
gdb.execute("watch -l watched")
print("reverse-continue to write    %.3f s" % timed("reverse-continue"))
where = gdb.execute("monitor when", to_string=True)
gdb.execute("delete")
gdb.execute("break near_start")
print("reverse-continue near start  %.3f s" % timed("reverse-continue"))
gdb.execute("delete")
steps = [timed("reverse-stepi") for _ in range(100)]
print("reverse-stepi median         %.1f ms (max %.1f ms)" % (statistics.median(steps) * 1000, max(steps) * 1000))
text = gdb.execute("monitor checkpoints", to_string=True)
copies = re.search(r"Copies of the process \(automatic checkpoints\), (\d+), holding (\d+) KiB", text)
resident = re.search(r"resident (\d+) KiB", text)
print("checkpoints                  %s copies, %s KiB of their own; the process: %s KiB resident" % (
    copies.group(1) if copies else 0, copies.group(2) if copies else 0, resident.group(1) if resident else "?"))
end
GDB
args=()
[[ -n ${CHECKPOINT_EVERY:-} ]] && args=(--checkpoint-every "$CHECKPOINT_EVERY")
"$REWIND_BIN" replay -q -s 0 "${args[@]}" "$work/trace" >"$work/server.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
  port=$(grep -o '127.0.0.1:[0-9]*' "$work/server.log" | head -1 | cut -d: -f2 || true)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { echo "reverse.sh: the replay never served:" >&2; cat "$work/server.log" >&2; exit 1; }
timeout 1800 gdb -nx -batch -ex "target remote 127.0.0.1:$port" -x "$work/bench.gdb" 2>&1 | grep -E '^(gdb|reverse|checkpoints)'
wait "$server" || true
server=
