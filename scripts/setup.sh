#!/usr/bin/env bash
# Installs what rewind needs to build and test (Debian packages), once.
#   scripts/setup.sh        the core tool
#   scripts/setup.sh --vm   also what `rewind vm` needs: QEMU (qemu-system-x86, qemu-utils),
#                           busybox-static and cpio for the example guest, binutils to turn a
#                           System.map into a symbol file for gdb
set -euo pipefail
packages=(libzstd-dev libxxhash-dev libcapstone-dev libdw-dev gcc gdb strace)
for argument in "$@"; do
  case "$argument" in
    --vm) packages+=(qemu-system-x86 qemu-utils busybox-static cpio binutils) ;;
    *) echo "usage: scripts/setup.sh [--vm]" >&2; exit 64 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The in-program watch API's header (`#include <rewind/watch.h>`), where compilers look.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -w /usr/local/include ] || [ "$(id -u)" -eq 0 ]; then
  install -D -m 644 "$root/include/rewind/watch.h" /usr/local/include/rewind/watch.h
fi
