#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the launcher's request-decoder fuzzer with clang and run it for a bounded time.
#
#   tests/unit/run_fuzz_launcher.sh [SECONDS] [extra libFuzzer options...]
#
# As tests/unit/run_fuzz.sh, for launcher/proto.c: SECONDS defaults to 60; CC, FUZZ_DIR
# (default ${TMPDIR:-/tmp}/umfs-fuzz-launcher) and OUT work the same way. The seeds in
# tests/unit/fuzz_corpus_launcher are read, never written. Exit status 0 when the time
# ran out without a finding; the input of a finding is left in $FUZZ_DIR/artifacts.
set -eu

cd "$(dirname "$0")/../.."

SECS=${1:-60}
[ $# -gt 0 ] && shift
CC=${CC:-clang}
FUZZ_DIR=${FUZZ_DIR:-${TMPDIR:-/tmp}/umfs-fuzz-launcher}
OUT=${OUT:-$FUZZ_DIR/fuzz_launcher}

mkdir -p "$FUZZ_DIR/corpus" "$FUZZ_DIR/artifacts" "$(dirname "$OUT")"
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Iinclude -Ilib launcher/proto.c tests/unit/fuzz_launcher.c -o "$OUT"

echo "run_fuzz_launcher: $OUT for ${SECS}s, corpus $FUZZ_DIR/corpus" >&2
exec "$OUT" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	-use_value_profile=1 -print_final_stats=1 -max_len=8192 \
	-artifact_prefix="$FUZZ_DIR/artifacts/" \
	"$@" "$FUZZ_DIR/corpus" tests/unit/fuzz_corpus_launcher
