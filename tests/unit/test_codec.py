# SPDX-License-Identifier: MIT
"""Run the C unit tests (tests/unit/test_codec.c) from pytest, which is how tests/run.sh
runs everything. The binary comes from the build in $UMFS_BUILD (default: build/); in an
asan build it is instrumented, which is what catches reads past a request's end."""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("UMFS_BUILD", os.path.join(ROOT, "build"))


def test_codec():
    exe = os.path.join(BUILD, "tests", "unit", "test_codec")
    if not os.path.exists(exe):
        pytest.fail(f"{exe} is missing: build first (scripts/build.sh)")
    r = subprocess.run([exe], capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0, out[-20000:]
    assert lines and re.fullmatch(r"codec: \d+ passed, 0 failed", lines[-1]), out[-20000:]
