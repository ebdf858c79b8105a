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
def test_time_to_quality_scores_each_config_and_seed_and_resumes(tmp_path):
    table, png = tmp_path / "study.jsonl", tmp_path / "study.png"
    args = (
        *"--budget 0.05 --marks 2 --step-marks 1 --eval-samples 100 --batch-size 32".split(),
        *("--data", "sample", "--table", table, "--plot", png),
    )
    bench("time_to_quality.py", "--configs", "loop,b64", "--seeds", "0", *args)
    # A second sitting asks for more: what the table holds is not trained again.
    out = bench("time_to_quality.py", "--configs", "b64", "--seeds", "0,1", *args)
    assert out.count("already") == 1, out
    rows = [json.loads(line) for line in table.read_text().splitlines()]
    assert sorted((r["config"], r["seed"]) for r in rows) == [("b64", 0), ("b64", 1), ("loop", 0)]
    for r in rows:
        by_minutes = [p for p in r["curve"] if p["at"] == "minutes"]
        assert len(by_minutes) == 2 and r["steps"] > 0
        assert [p["minutes"] for p in by_minutes] == sorted(p["minutes"] for p in by_minutes)
        assert all(p["minutes"] >= 0.025 * (i + 1) for i, p in enumerate(by_minutes))
        assert all(np.isfinite(p["fid"]) for p in r["curve"])
        assert [p["steps"] for p in r["curve"] if p["at"] == "steps"] == [1]
    assert rows[1]["settings"]["batch_size"] == 32 and "FID mean (worst seed)" in out
    assert png.stat().st_size > 0


def test_a_study_cut_off_keeps_its_marks_and_trains_that_run_again(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from time_to_quality import Clock, key, read_table, write_row

    table = tmp_path / "study.jsonl"
    done = {"data": "d", "config": "b32", "seed": 0, "budget_min": 1.0, "steps": 9, "curve": []}
    write_row(table, done)
    row = dict(done, seed=1)
    marks = lambda curve: write_row(table, {**row, "curve": list(curve), "partial": True})
    scores = {"fid": 1.0, "precision": 0.5, "recall": 0.5}
    clock = Clock(None, 0, lambda g: scores, (2, 4), 6, on_mark=marks)
    clock.score_model = lambda: None
    clock.start()
    for _ in range(5):  # killed after step 5: two of its three marks reached
        clock.tick()
    kept = read_table(table, partial=True)
    assert [len(r["curve"]) for r in kept] == [0, 2] and kept[1]["partial"]
    # What a later sitting skips: the finished run only, so the cut-off one trains again...
    assert [key(r) for r in read_table(table)] == [key(done)]
    # ...and its finished row replaces the marks it left.
    write_row(table, dict(row, curve=[{"fid": 1.0}] * 3))
    assert [(r["seed"], len(r["curve"]), "partial" in r) for r in read_table(table, True)] == [
        (0, 0, False),
        (1, 3, False),
    ]


def test_minutes_to_reach_interpolates_between_marks():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from time_to_quality import minutes_to_reach

    curve = [(6.0, 40.0), (12.0, 20.0), (18.0, 10.0)]
    assert minutes_to_reach(curve, 20.0) == 12.0
    assert minutes_to_reach(curve, 30.0) == 9.0  # halfway from 40 at 6 min to 20 at 12 min
    assert minutes_to_reach(curve, 50.0) == 6.0  # already there at the first mark
    assert minutes_to_reach(curve, 5.0) is None


def test_every_study_config_is_a_valid_config():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from time_to_quality import CONFIGS

    from dcgan.settings import Config

    for over in CONFIGS.values():
        if over is not None:
            Config(**over).checked()  # raises, naming the flag, for a setting out of bounds


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


def test_step_rows_become_cpu_minutes_at_each_configs_measured_pace():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from time_to_quality import cpu_rates, fid_at_steps, summarize_steps

    def row(config, seed, curve, **budget):
        points = [{"steps": s, "minutes": 0.0, "at": "steps", "fid": f} for s, f in curve]
        return {"data": "MNIST", "config": config, "seed": seed, "curve": points, **budget}

    cpu = [  # a CPU's minute rows: 600 and 200 steps a minute
        dict(row("fast", 0, []), budget_min=20, steps=12000),
        dict(row("reference", 0, []), budget_min=20, steps=4000),
    ]
    gpu = [
        row("fast", s, [(1000, 40.0), (3000, 10.0), (12000, 2.5)], budget_min=None, budget_steps=1)
        for s in (0, 1)
    ]
    rates = cpu_rates(cpu)
    assert rates == {("MNIST", "fast"): 600.0, ("MNIST", "reference"): 200.0}
    assert fid_at_steps(gpu[0], 3000) == pytest.approx(10.0)
    assert fid_at_steps(gpu[0], 2000) == pytest.approx(20.0)  # log-linear: halfway 40 -> 10
    assert fid_at_steps(gpu[0], 500) is None and fid_at_steps(gpu[0], 20000) is None
    text = "\n".join(summarize_steps(gpu, rates))
    assert "fast            2 seeds" in text and "12000: 2.50 (2.5)" in text, text
    # 5 minutes of the CPU are 3000 of its steps; 60 minutes are beyond what was trained
    assert "5 min (3000 steps): 10.00" in text and "60 min (36000 steps): not measured" in text


@pytest.mark.slow
def test_the_study_runs_on_jax_without_tensorflow(tmp_path):
    """A GPU machine may have JAX and no TensorFlow: the study trains by steps there."""
    pytest.importorskip("jax", reason="JAX is not installed: pip install dcgan[jax]")
    table = tmp_path / "gpu.jsonl"
    block = (
        "import runpy, sys\n"
        "class NoTF:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'tensorflow':\n"
        "            raise ImportError('no tensorflow on this machine')\n"
        "sys.meta_path.insert(0, NoTF())\n"
        "sys.argv = ['time_to_quality.py', *sys.argv[1:]]\n"
        f"runpy.run_path({str(REPO / 'benchmarks/time_to_quality.py')!r}, run_name='__main__')\n"
    )
    script = tmp_path / "no_tf.py"
    script.write_text(block)
    args = "--configs b32 --seeds 0 --steps 4 --step-marks 2 --eval-samples 50 --data sample"
    proc = run_python(script, *args.split(), "--table", table, KERAS_BACKEND="jax")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = [json.loads(line) for line in table.read_text().splitlines()]
    assert row["budget_steps"] == 4 and row["budget_min"] is None and row["steps"] == 4
    assert [p["steps"] for p in row["curve"]] == [2, 4]
    assert all(np.isfinite(p["fid"]) for p in row["curve"]) and "jax" in row["host"]
    assert "tensorflow" not in proc.stdout.lower(), proc.stdout
