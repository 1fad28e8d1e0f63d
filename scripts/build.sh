#!/bin/sh
# Configure and build umfs. Usage: scripts/build.sh [BUILDDIR [meson options...]]
# BUILDDIR defaults to build/; a name containing "asan" gets AddressSanitizer and UBSan.
# Compiler warnings are shown (the build is meant to have none).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$dir/build.ninja" ]; then
	case "$dir" in
	*asan*) set -- -Db_sanitize=address,undefined -Db_lundef=false "$@" ;;
	esac
	meson setup "$dir" --prefix=/usr/local "$@" >/dev/null
fi
if ! ninja -C "$dir" >"$dir/ninja.log" 2>&1; then
	cat "$dir/ninja.log" >&2
	exit 1
fi
grep -A3 "warning:" "$dir/ninja.log" >&2 || true
