#!/usr/bin/env bash
# Sets up, builds rewind and runs the whole test suite (unit and record/replay tests), then
# fuzzes the trace and GDB packet decoders briefly (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
bash scripts/fuzz.sh 20
