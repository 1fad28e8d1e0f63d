# SPDX-License-Identifier: MIT
"""The C unit tests (no kernel, no mount), run from pytest, which is how tests/run.sh runs
everything. Binaries come from the build in $UMFS_BUILD (default build/); in an asan
build they are instrumented."""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("UMFS_BUILD", os.path.join(ROOT, "build"))

# (name, binary under the build dir, arguments, what its last line says on success)
UNITS = [
    ("codec", "tests/unit/test_codec", [], r"codec: \d+ passed, 0 failed"),
    ("nodes", "tests/unit/test_nodes", [], r"nodes: \d+ passed, 0 failed"),
    ("memfs", "fs/memfs/test_memfs", [], r"\d+ passed, 0 failed"),
    ("memfs-stress", "fs/memfs/stress_memfs", ["20000", "8"], None),
    ("launcher", "tests/unit/test_launcher", [], r"launcher: \d+ passed, 0 failed"),
    ("fuse_opt", "tests/unit/test_fuse_opt", [], r"fuse_opt: \d+ passed, 0 failed"),
    ("crypt", "fs/cryptfs/test_crypt", [], r"crypt: \d+ passed, 0 failed"),
]


@pytest.mark.parametrize("name,exe,args,last", UNITS, ids=[u[0] for u in UNITS])
def test_unit(name, exe, args, last):
    path = os.path.join(BUILD, exe)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: build first (scripts/build.sh)")
    r = subprocess.run([path] + args, capture_output=True, text=True, timeout=900)
    out = (r.stdout + r.stderr)[-20000:]
    assert r.returncode == 0, out
    if last:
        lines = r.stdout.strip().splitlines()
        assert lines and re.fullmatch(last, lines[-1]), out


def test_fuzz_decoder_briefly(tmp_path):
    """libFuzzer on the request decoder for a few seconds (long runs: run_fuzz.sh)."""
    if not shutil.which("clang"):
        pytest.skip("clang is not installed")
    r = subprocess.run([os.path.join(ROOT, "tests", "unit", "run_fuzz.sh"), "15"],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, FUZZ_DIR=str(tmp_path)))
    assert r.returncode == 0, (r.stdout + r.stderr)[-20000:]


def test_fuzz_launcher_decoder_briefly(tmp_path):
    """libFuzzer on umfsd's request decoder for a few seconds (long runs:
    run_fuzz_launcher.sh)."""
    if not shutil.which("clang"):
        pytest.skip("clang is not installed")
    r = subprocess.run([os.path.join(ROOT, "tests", "unit", "run_fuzz_launcher.sh"), "10"],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, FUZZ_DIR=str(tmp_path)))
    assert r.returncode == 0, (r.stdout + r.stderr)[-20000:]
