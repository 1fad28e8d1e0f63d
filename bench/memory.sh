#!/bin/sh
# Memory of memfs holding many empty files: mounts memfs, creates DIRS directories of
# FILES empty files each (default 1000 x 1000 = 1,000,000), prints the daemon's resident
# memory (VmRSS, VmHWM) before and after, and the bytes per file.
# Usage: bench/memory.sh [DIRS [FILES]]   (as root; uses $UMFS_BUILD or build/)
set -eu
cd "$(dirname "$0")/.."
dirs=${1:-1000}
files=${2:-1000}
build=${UMFS_BUILD:-$PWD/build}
mnt=$(mktemp -d /tmp/umfs-memory.XXXXXX)
cleanup() {
	"$build/tools/umfs" unmount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	rmdir "$mnt"
}
trap cleanup EXIT INT TERM

"$build/tools/umfs" mount memfs "$mnt" -f &
pid=$!
for _ in $(seq 100); do grep -q " $mnt fuse" /proc/mounts && break; sleep 0.1; done
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
before=$(rss VmRSS)

start=$(date +%s.%N)
/usr/bin/python3 - "$mnt" "$dirs" "$files" <<'PY'
import os, stat, sys
root, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    dp = os.path.join(root, "d%04d" % d)
    os.mkdir(dp)
    for f in range(files):
        os.mknod(os.path.join(dp, "file%06d" % f), stat.S_IFREG | 0o644)
PY
end=$(date +%s.%N)
count=$(find "$mnt" -type f | wc -l)
after=$(rss VmRSS)
peak=$(rss VmHWM)
echo "files created:   $count in $dirs directories ($(awk "BEGIN { printf \"%.1f\", $end - $start }") s)"
echo "memfs VmRSS:     before ${before} KiB, after ${after} KiB ($((after / 1024)) MiB)"
echo "memfs VmHWM:     ${peak} KiB ($((peak / 1024)) MiB)"
echo "per file:        $(( (after - before) * 1024 / count )) bytes"
