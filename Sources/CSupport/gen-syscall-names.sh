#!/bin/sh
# Regenerates syscall_names.inc from the kernel headers: sh gen-syscall-names.sh > syscall_names.inc
echo '/* Generated from <asm/unistd_64.h> by Sources/CSupport/gen-syscall-names.sh; do not edit. */'
echo 'static const struct { const char *name; long number; } rewind_syscall_names[] = {'
sed -n 's/^#define __NR_\([a-z0-9_]*\)[ \t]*[0-9]*$/  {"\1", __NR_\1},/p' /usr/include/x86_64-linux-gnu/asm/unistd_64.h
echo '};'
