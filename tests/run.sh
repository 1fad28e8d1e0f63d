#!/bin/sh
# Run every umfs test: the C unit tests and the integration suite on real kernel mounts,
# once on the normal build and once under AddressSanitizer + UBSan.
# Usage: tests/run.sh [pytest options...]     (as root; installs missing packages)
# Environment: UMFS_TEST_BUILDS="build build-asan" chooses the builds.
set -u
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

builds=${UMFS_TEST_BUILDS:-"build build-asan"}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for b in $builds; do
	echo "== building $b"
	scripts/build.sh "$b" || { echo "build of $b failed"; echo "0 passed, 1 failed"; exit 1; }
done

# The sanitizers must fail a test, not just print: abort on the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
for b in $builds; do
	echo "== tests on $b"
	UMFS_BUILD="$PWD/$b" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		--junitxml="$results/$b.xml" tests/unit tests/integration "$@"
done

# One summary line over all runs (the last line CI reads).
/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
t = f = e = s = 0
for path in glob.glob(sys.argv[1] + "/*.xml"):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        t += int(suite.get("tests", 0)); f += int(suite.get("failures", 0))
        e += int(suite.get("errors", 0)); s += int(suite.get("skipped", 0))
failed = f + e
print(f"tests: {t - failed - s} passed, {failed} failed, {s} skipped")
sys.exit(1 if failed or t == 0 else 0)
PY
