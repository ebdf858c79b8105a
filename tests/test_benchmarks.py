"""The benchmarks still run and print their tables (tiny settings; no timing is asserted)."""

import subprocess
import sys

import pytest

from conftest import REPO, cli_env


def bench(script, *args):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        cwd=REPO,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_throughput_compares_reference_and_fit():
    out = bench(
        "throughput.py",
        "--steps",
        "1",
        "--rounds",
        "1",
        "--warmup",
        "1",
        "--batch-size",
        "16",
        "--variants",
        "mixed_bfloat16:1:0",
    )
    rows = [line for line in out.splitlines() if line.startswith(("(a)", "(b)"))]
    assert len(rows) == 2 and rows[0].split()[-3] == "1.00", out  # the reference is the 1.00x row


@pytest.mark.slow
def test_profile_step_splits_the_step(tmp_path):
    out = bench("profile_step.py", "--steps", "2", "--batch-size", "16", "--logdir", str(tmp_path))
    assert "Conv2D" in out and "-- by kind: " in out and "batchnorm" in out, out
    assert "G's update" in out and "D's update" in out, out
