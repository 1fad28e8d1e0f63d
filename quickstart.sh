#!/bin/sh
# umfs quick start: install what is missing, build, install, mount memfs and use it.
# Usage (as root on Debian 12): ./quickstart.sh [MOUNTPOINT]      default /mnt/umfs-demo
set -eu
cd "$(dirname "$0")"
mnt=${1:-/mnt/umfs-demo}

scripts/install-deps.sh
echo "== building"
scripts/build.sh build
echo "== installing to /usr/local"
ninja -C build install >/dev/null
ldconfig

mkdir -p "$mnt"
if grep -q " $mnt fuse" /proc/mounts; then
	umfs unmount "$mnt"
fi
echo "== umfs mount memfs $mnt --max-size 2G --max-nodes 1000000"
umfs mount memfs "$mnt" --max-size 2G --max-nodes 1000000
grep " $mnt " /proc/mounts

echo "== cp -a /usr/include $mnt/ && tar -C $mnt -cf - . | tar -tf - | wc -l"
cp -a /usr/include "$mnt/"
printf 'entries through tar: %s\n' "$(tar -C "$mnt" -cf - . | tar -tf - | wc -l)"
printf 'entries on disk:     %s\n' "$(cd /usr && find include | wc -l)"
diff -r --no-dereference /usr/include "$mnt/include" && echo "diff -r /usr/include $mnt/include: identical"
df -h "$mnt"

echo
echo "memfs is mounted on $mnt for every user (like tmpfs). When done:"
echo "    umfs unmount $mnt"
