#!/usr/bin/env bash
# Whole virtual machines (issue 17), in one run on the example guest (scripts/example-guest.sh:
# Debian's cloud kernel and a busybox initramfs that prints random bytes, the date, a loop's
# result and /proc/interrupts, then powers off):
#   - a plain TCG boot to poweroff (QEMU alone, the same machine, no icount);
#   - `rewind vm record`, then `rewind vm replay -a` (which also checks the serial output);
#   - under gdb, stopped at kernel_power_off (the end of the boot), three reverse-stepi:
#     without periodic snapshots (QEMU replays from the initial one), then with
#     --checkpoint-every (the first pass that takes the snapshots is timed separately).
# Usage: bench/vm.sh   (REWIND_BIN=path to use a built rewind; else builds release;
#        GUEST=dir with bzImage, rootfs.cpio.gz, System.map, else .build/vm-guest, built if
#        missing; CHECKPOINT_EVERY, default 200M)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
every=${CHECKPOINT_EVERY:-200M}
guest=${GUEST:-$root/.build/vm-guest}
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "bench/vm.sh needs QEMU: run scripts/setup.sh --vm" >&2
  exit 69
fi
bash "$root/scripts/example-guest.sh" "$guest" >&2
if [[ -z "${REWIND_BIN:-}" ]]; then
  (cd "$root" && swift build -c release >&2)
  REWIND_BIN="$(cd "$root" && swift build -c release --show-bin-path)/rewind"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/rewind-vm-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export REWIND_TRACE_DIR="$work/traces"

seconds() {
  local start=$(date +%s%N)
  "$@" >"$work/out" 2>"$work/err" || { echo "failed: $*" >&2; tail -5 "$work/err" >&2; exit 1; }
  printf '%d.%03d' $((($(date +%s%N) - start) / 1000000000)) $(((($(date +%s%N) - start) / 1000000) % 1000))
}

# The machine rewind records (QEMUCommandLine), without icount or snapshots.
plain=$(seconds qemu-system-x86_64 -nodefaults -no-user-config -display none -machine pc,accel=tcg -cpu qemu64 -smp 1 -m 512M \
  -global apic-common.vapic=off -kernel "$guest/bzImage" -initrd "$guest/rootfs.cpio.gz" -append "console=ttyS0 nokaslr panic=-1" \
  -serial file:"$work/plain-serial.txt" -no-reboot)
record=$(seconds "$REWIND_BIN" vm record --kernel "$guest/bzImage" --initrd "$guest/rootfs.cpio.gz" -o "$work/trace" -q)
replay=$(seconds "$REWIND_BIN" vm replay -a -q "$work/trace")
instructions=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["guestInstructions"])' "$work/trace/summary.json")

cat >"$work/reverse.gdb" <<'GDB'
set pagination off
break kernel_power_off
continue
delete
python import time
python times = []
python t = time.time()
reverse-stepi
python times.append(time.time() - t); t = time.time()
reverse-stepi
python times.append(time.time() - t); t = time.time()
reverse-stepi
python times.append(time.time() - t)
python print("REVERSE-STEPI " + " ".join("%.3f" % x for x in times))
GDB
reverse_times() { grep '^REVERSE-STEPI' "$work/out" | cut -d' ' -f2-; }
without_session=$(seconds "$REWIND_BIN" vm replay "$work/trace" --symbols "$guest/System.map" -- -batch -nx -x "$work/reverse.gdb")
without=$(reverse_times)
with_session=$(seconds "$REWIND_BIN" vm replay "$work/trace" --symbols "$guest/System.map" --checkpoint-every "$every" -- -batch -nx -x "$work/reverse.gdb")
with=$(reverse_times)
checkpoints=$(grep -o '[0-9]* checkpoints in [0-9.]* s' "$work/err" || echo "?")

echo "example guest: $instructions guest instructions, boot to poweroff"
printf '%-44s %8s s\n' "plain TCG boot (no icount)" "$plain"
printf '%-44s %8s s\n' "rewind vm record" "$record"
printf '%-44s %8s s\n' "rewind vm replay -a (with the check)" "$replay"
printf '%-44s %s s each (session %s s)\n' "reverse-stepi at poweroff, no snapshots" "$without" "$without_session"
printf '%-44s %s s each (session %s s; %s)\n' "reverse-stepi, --checkpoint-every $every" "$with" "$with_session" "$checkpoints"
