"""The benchmarks still run and print their tables (tiny settings; no timing is asserted)."""

import json
import sys

import numpy as np
import pytest

from conftest import REPO, run_python


def bench(script, *args):
    proc = run_python(REPO / "benchmarks" / script, *args)
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


@pytest.mark.slow
def test_time_to_quality_scores_both_at_each_mark(tmp_path):
    result = tmp_path / "r.json"
    out = bench(
        "time_to_quality.py",
        *"--budget 0.1 --marks 2 --eval-samples 100 --batch-size 32 --data sample".split(),
        "--json",
        str(result),
    )
    r = json.loads(result.read_text())
    assert len(r["reference"]) == len(r["project"]) == 2, out
    assert r["steps"]["reference"] > 0 and r["steps"]["project"] > 0
    for curve in (r["reference"], r["project"]):
        assert [m for m, _ in curve] == sorted(m for m, _ in curve)
        assert all(m >= 0.05 * (i + 1) and np.isfinite(fid) for i, (m, fid) in enumerate(curve))
    assert "reaches (a)'s 0.1-minute FID" in out


def test_minutes_to_reach_interpolates_between_marks():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from time_to_quality import minutes_to_reach

    curve = [(6.0, 40.0), (12.0, 20.0), (18.0, 10.0)]
    assert minutes_to_reach(curve, 20.0) == 12.0
    assert minutes_to_reach(curve, 30.0) == 9.0  # halfway from 40 at 6 min to 20 at 12 min
    assert minutes_to_reach(curve, 50.0) == 6.0  # already there at the first mark
    assert minutes_to_reach(curve, 5.0) is None


@pytest.mark.slow
def test_throughput_times_each_backend_in_one_run():
    pytest.importorskip("jax", reason="JAX is not installed: pip install dcgan[jax]")
    out = bench(
        "throughput.py",
        *("--backend", "tensorflow,jax", "--steps", "1", "--rounds", "1", "--warmup", "1"),
        *("--batch-size", "16", "--variants", "float32:1:0"),
    )
    assert out.count("== KERAS_BACKEND=") == 2 and "backend jax" in out, out
    rows = [line for line in out.splitlines() if line.startswith("(b)")]
    assert len(rows) == 2, out
