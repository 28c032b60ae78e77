#!/usr/bin/env bash
# Sets up, builds rewind and runs the whole test suite (unit, record/replay and whole-VM
# tests), then fuzzes the trace and GDB packet decoders briefly (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --vm
# The guest the `rewind vm` tests record (a Debian kernel and a busybox initramfs).
bash scripts/example-guest.sh .build/vm-guest
swift build --build-tests
swift test --skip-build
bash scripts/fuzz.sh 20
