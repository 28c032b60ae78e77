#!/usr/bin/env bash
# Builds the example guest of `rewind vm` into OUTDIR:
#   bzImage          Debian's cloud kernel (package linux-image-cloud-amd64's dependency, extracted)
#   System.map       that kernel's symbols (for `rewind vm replay --symbols` and breakpoints)
#   rootfs.cpio.gz   a busybox-static initramfs whose /init prints random bytes, the date, a
#                    loop's result and /proc/interrupts, then powers the machine off
# Needs apt-get (Debian) and busybox-static (`scripts/setup.sh --vm` installs it). Runs as any
# user: packages are downloaded, not installed. Does nothing when OUTDIR already holds all three.
set -euo pipefail
out="${1:-}"
if [ -z "$out" ]; then
  echo "usage: scripts/example-guest.sh OUTDIR" >&2
  exit 64
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Bumped when the guest changes, so an older build in OUTDIR is made again.
guest_version=3
if [ -s "$out/bzImage" ] && [ -s "$out/System.map" ] && [ -s "$out/rootfs.cpio.gz" ] \
  && [ "$(cat "$out/guest-version" 2>/dev/null)" = "$guest_version" ]; then
  echo "example guest already in $out"
  exit 0
fi
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "example-guest: a statically linked busybox is needed: run scripts/setup.sh --vm (installs busybox-static)" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The kernel: the cloud kernel image package the meta-package depends on, downloaded and
# unpacked (not installed).
meta=linux-image-cloud-amd64
image_package="$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
if [ -z "$image_package" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq  # a fresh container often has no package lists
  image_package="$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
fi
if [ -z "$image_package" ]; then
  echo "example-guest: apt knows no $meta (run apt-get update, or check /etc/apt/sources.list)" >&2
  exit 1
fi
(cd "$work" && apt-get download -qq "$image_package" >/dev/null)
dpkg-deb -x "$work"/"$image_package"_*.deb "$work/kernel"
cp "$work"/kernel/boot/vmlinuz-* "$work/bzImage"

# The initramfs.
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp}
cp "$busybox" "$root/bin/busybox"
for tool in sh mount echo date head od cat poweroff grep tr insmod dd sync ifconfig ping; do
  ln -s busybox "$root/bin/$tool"
done
# virtio block and network (`rewind vm record --disk`, `--net`): modules in Debian's cloud
# kernel, loaded in dependency order by /init.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover net_failover virtio_net"
mkdir -p "$root/lib/modules"
for module in $modules; do
  file="$(find "$work/kernel/lib/modules" -name "$module.ko*" | head -1)"
  if [ -z "$file" ]; then
    echo "example-guest: the kernel package has no $module module" >&2
    exit 1
  fi
  case "$file" in
    *.xz) xz -dc "$file" >"$root/lib/modules/$module.ko" ;;
    *.zst) zstd -qdc "$file" >"$root/lib/modules/$module.ko" ;;
    *) cp "$file" "$root/lib/modules/$module.ko" ;;
  esac
done
echo "$modules" >"$root/lib/modules/order"
cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
if grep -q rewind.kallsyms /proc/cmdline; then
  # example-guest.sh's own boot: the symbol table, on the second serial port.
  cat /proc/kallsyms >/dev/ttyS1
  poweroff -f
fi
echo "rewind-guest: start"
echo "random: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S')"
sum=0
i=0
while [ $i -lt 2000 ]; do
  sum=$((sum + i * i % 7))
  i=$((i + 1))
done
echo "loop: $sum"
for module in $(cat /lib/modules/order); do insmod /lib/modules/$module.ko; done
if [ -b /dev/vda ]; then
  # A disk: what its first sector says, then a line written to its second.
  echo "disk: $(head -c 64 /dev/vda | tr -d '\000')"
  echo "written by the guest at $(date -u '+%H:%M:%S')" | dd of=/dev/vda bs=512 seek=1 conv=sync,fsync 2>/dev/null
  echo "disk written"
fi
if [ -e /sys/class/net/eth0 ]; then
  # A network (QEMU's user-mode one): ping its gateway.
  ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
  ping -c 2 -W 2 10.0.2.2 | grep -E "packets transmitted|bytes from"
fi
cat /proc/interrupts
echo "rewind-guest: done"
poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/rootfs.cpio.gz"

# System.map: Debian's package ships a placeholder (the real one is in the -dbg package), so
# the guest is booted once, without KASLR, and prints /proc/kallsyms on its second serial port.
if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "example-guest: qemu-system-x86_64 is needed to read the kernel's symbols: run scripts/setup.sh --vm" >&2
  exit 1
fi
timeout 300 qemu-system-x86_64 -nodefaults -no-user-config -display none -machine pc,accel=tcg -m 512M -smp 1 \
  -kernel "$work/bzImage" -initrd "$work/rootfs.cpio.gz" -append "console=ttyS0 nokaslr panic=-1 quiet rewind.kallsyms" \
  -serial file:"$work/console.txt" -serial file:"$work/kallsyms.txt" -no-reboot
# Kernel symbols only (no [module] column), in System.map's form: address, type, name.
tr -d '\r' <"$work/kallsyms.txt" | awk 'NF == 3 && $1 ~ /^ffffffff/' | sort >"$work/System.map"
if ! grep -q ' start_kernel$' "$work/System.map"; then
  echo "example-guest: the guest printed no kernel symbols (see its console: $(tail -3 "$work/console.txt"))" >&2
  exit 1
fi
mv "$work/System.map" "$work/rootfs.cpio.gz" "$out/"
mv "$work/bzImage" "$out/bzImage"
echo "$guest_version" >"$out/guest-version"
echo "example guest in $out: bzImage ($(basename "$work"/kernel/boot/vmlinuz-*)), System.map ($(wc -l <"$out/System.map") symbols), rootfs.cpio.gz"
