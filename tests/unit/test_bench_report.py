# SPDX-License-Identifier: MIT
"""bench/run.sh's report: the tables it prints from a run's raw numbers
(`bench/run.sh --report RAW`, which needs no root and mounts nothing)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "bench", "run.sh")


def report(tmp_path, lines):
    raw = tmp_path / "raw.txt"
    raw.write_text("".join(line + "\n" for line in lines))
    p = subprocess.run(["bash", RUN, "--report", str(raw)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def row(out, scenario):
    """The cells of the first table row for SCENARIO."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == scenario:
            return cells
    raise AssertionError(f"no row {scenario!r} in:\n{out}")


def test_ratios_are_taken_within_each_round(tmp_path):
    # The machine runs three times faster in round 3 than in round 1; ptll-umfs is 5%
    # ahead in rounds 1 and 2 and half as fast in round 3. Per round: 1.05, 1.05,
    # 0.50: median 1.05. The ratio of the two medians (150 / 200 = 0.75) would mix
    # rounds, and so would a ratio of means.
    out = report(tmp_path, [
        "passthrough_ll 1 list 100 100.0 1.0", "ptll-umfs 1 list 105 105.0 1.0",
        "passthrough_ll 2 list 200 200.0 1.0", "ptll-umfs 2 list 210 210.0 1.0",
        "passthrough_ll 3 list 300 300.0 1.0", "ptll-umfs 3 list 150 150.0 1.0",
    ])
    assert "median of 3 round(s)" in out
    header = row(out, "scenario")
    cells = row(out, "list")
    assert header[1:3] == ["passthrough_ll", "ptll-umfs"]
    assert cells[1:3] == ["200", "150"]          # the medians, as measured
    assert cells[header.index("ptll-umfs/passthrough_ll")] == "1.05x"
    targets = [line for line in out.splitlines() if line.startswith("| ptll-umfs | list |")]
    assert targets == ["| ptll-umfs | list | >= 1x passthrough_ll | 1.05x | 2/3 | met |"]
    # Three rounds cannot show a difference: every count has a 25% chance or more.
    assert "with 3 rounds no count tells a real difference from chance" in out


def test_a_round_missing_one_side_is_left_out_of_its_ratio(tmp_path):
    # Round 2 has no ptll-umfs value (its run failed): only rounds 1 and 3 pair up.
    out = report(tmp_path, [
        "passthrough_ll 1 getattr 100 100.0 1.0", "ptll-umfs 1 getattr 90 90.0 1.0",
        "passthrough_ll 2 getattr 100 100.0 1.0", "ptll-umfs 2 getattr FAIL",
        "passthrough_ll 3 getattr 100 100.0 1.0", "ptll-umfs 3 getattr 80 80.0 1.0",
    ])
    header = row(out, "scenario")
    assert row(out, "getattr")[header.index("ptll-umfs/passthrough_ll")] == "0.85x"
    assert "| ptll-umfs | getattr | >= 1x passthrough_ll | 0.85x | 0/2 | not met |" in out


def test_rounds_at_target_and_the_sign_test_cutoff(tmp_path):
    # 16 rounds; ptll-umfs reaches passthrough_ll in rounds 1-3 only (and ties in
    # round 3: "at least" counts a tie). A count of 3 of 16 or fewer has a two-sided
    # chance of 2.1% between equals (697/65536 each side); 4 of 16 has 7.7%.
    lines = []
    for r in range(1, 17):
        lines.append(f"passthrough_ll {r} list 100 100.0 1.0")
        v = [110, 101, 100][r - 1] if r <= 3 else 95
        lines.append(f"ptll-umfs {r} list {v} {v}.0 1.0")
    out = report(tmp_path, lines)
    assert "| ptll-umfs | list | >= 1x passthrough_ll | 0.95x | 3/16 | not met |" in out
    assert "with 16 rounds, 3 or fewer (or 13 or more) would happen by chance" in out


def test_report_of_a_missing_file_is_refused(tmp_path):
    p = subprocess.run(["bash", RUN, "--report", str(tmp_path / "none.txt")],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert "cannot read" in p.stderr
    assert p.stdout == ""
