# SPDX-License-Identifier: MIT
"""bench/umfsbench itself, in a plain directory or a small tmpfs (no FUSE mount): what its
lines count, and how a failing row looks."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("UMFS_BUILD", os.path.join(ROOT, "build"))
BENCH = os.path.join(BUILD, "bench", "umfsbench")


def run(args):
    if not os.path.exists(BENCH):
        pytest.skip(f"{BENCH} is not built")
    p = subprocess.run([BENCH, *args], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = [line.split() for line in p.stdout.splitlines() if not line.startswith("#")]
    return {cells[0]: cells[1:] for cells in lines}, p.stderr


@pytest.mark.parametrize("scenario,writes_per_pass", [("seq-write-1m", 4), ("seq-write-4k", 1024)])
def test_write_scenarios_measure_only_the_passes_after_a_warm_up(tmp_path, scenario,
                                                                  writes_per_pass):
    # Three measured passes of a 4 MiB file: the warm-up pass before them is written
    # (and says so with -v) but counted nowhere, and no file is left behind.
    rows, err = run(["-v", "-S", scenario, "--file-size", "4M", "--min-time", "0",
                     "--iterations", "3", str(tmp_path)])
    ops, ops_per_sec, seconds, mib_per_sec = rows[scenario]
    assert int(ops) == 3 * writes_per_pass
    assert float(seconds) > 0 and float(mib_per_sec) > 0
    assert abs(float(ops_per_sec) * float(seconds) - int(ops)) < 0.01 * int(ops) + 1
    assert "one unmeasured pass first" in err
    assert list(tmp_path.iterdir()) == []


def test_a_full_file_system_makes_the_row_fail_not_the_run_hang(tmp_path):
    # A 2 MiB tmpfs and a 4 MiB file: the warm-up pass already runs out of space. The
    # row says FAIL, stderr says why, the exit status says so, and nothing is left.
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    if not os.path.exists(BENCH):
        pytest.skip(f"{BENCH} is not built")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], check=True)
    try:
        p = subprocess.run([BENCH, "-S", "seq-write-1m", "--file-size", "4M", str(small)],
                           capture_output=True, text=True)
        assert p.returncode != 0
        assert "seq-write-1m FAIL" in p.stdout
        assert "No space left on device" in p.stderr
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)
