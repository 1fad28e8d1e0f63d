#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the codec fuzzer with clang and run it for a bounded time.
#
#   tests/unit/run_fuzz.sh [SECONDS] [extra libFuzzer options...]
#
# SECONDS defaults to 60. Environment:
#   CC        the compiler (default clang; it needs libFuzzer, i.e. compiler-rt)
#   FUZZ_DIR  where the binary, the growing corpus and crash artifacts go
#             (default ${TMPDIR:-/tmp}/umfs-fuzz; kept between runs, so a corpus grows)
#   OUT       the fuzzer binary (default $FUZZ_DIR/fuzz_decode)
# The checked-in seeds (tests/unit/fuzz_corpus) are read, never written.
# Exit status: 0 when the time ran out without a finding, nonzero on a crash, a sanitizer
# report, a broken promise (abort) or a timeout; the input is left in $FUZZ_DIR/artifacts.
set -eu

cd "$(dirname "$0")/../.."

SECS=${1:-60}
[ $# -gt 0 ] && shift
CC=${CC:-clang}
FUZZ_DIR=${FUZZ_DIR:-${TMPDIR:-/tmp}/umfs-fuzz}
OUT=${OUT:-$FUZZ_DIR/fuzz_decode}

mkdir -p "$FUZZ_DIR/corpus" "$FUZZ_DIR/artifacts" "$(dirname "$OUT")"

# -fno-sanitize-recover: a UBSan finding must stop the run, not just print.
"$CC" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Iinclude -Ilib lib/codec.c tests/unit/fuzz_decode.c -o "$OUT"

echo "run_fuzz: $OUT for ${SECS}s, corpus $FUZZ_DIR/corpus" >&2
# The first directory receives new inputs; the seed directory is only read.
exec "$OUT" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	-use_value_profile=1 -print_final_stats=1 \
	-artifact_prefix="$FUZZ_DIR/artifacts/" \
	"$@" "$FUZZ_DIR/corpus" tests/unit/fuzz_corpus
