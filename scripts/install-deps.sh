#!/bin/sh
# Install the Debian packages umfs needs to build, test and benchmark; only those missing.
# Usage: scripts/install-deps.sh [--bench]
set -eu

packages="gcc make meson ninja-build pkg-config git fuse3 libfuse3-dev python3 python3-pytest
clang libclang-rt-dev attr acl
libssl-dev libsodium-dev rsync strace liburing-dev sshfs openssh-sftp-server"
[ "${1:-}" = "--bench" ] && packages="$packages bindfs fio hyperfine gocryptfs"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "umfs: missing Debian packages:$missing (run this script as root)" >&2
	exit 1
fi
echo "umfs: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
