"""The training library: configs checked before anything runs, and a run folder that says what
it is."""

import dataclasses
import json

import pytest

from dcgan import training
from dcgan.training import Config


def test_checked_fills_the_recipe_of_each_arch():
    assert dataclasses.astuple(Config().checked())[3:6] == (2e-4, 0.5, "soft")
    mlp = Config(arch="mlp").checked()
    assert (mlp.lr, mlp.labels, mlp.noise) == (1e-4, "hard", "uniform")
    assert Config(lr=1e-3).checked().lr == 1e-3


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(epochs=0), "--epochs must be at least 1"),
        (dict(batch_size=7), "must be even"),
        (dict(noise="pink"), "--noise 'pink'"),
        (dict(conditional=True, arch="mlp"), "--conditional"),
        (dict(eval_samples=0), "--eval-samples"),
        (dict(ema=1.0), "--ema"),
    ],
)
def test_bad_settings_are_refused_by_name(change, words):
    with pytest.raises(ValueError, match=words):
        Config(**change).checked()


def test_resolved_picks_a_precision():
    assert Config().resolved().precision in ("float32", "mixed_bfloat16", "mixed_float16")
    assert Config(precision="float32").resolved().precision == "float32"


def test_of_run_reads_the_saved_config(trained_run, tmp_path):
    cfg = Config.of_run(trained_run)
    assert (cfg.epochs, cfg.ema, cfg.eval_every) == (2, 0.9, 1)
    with pytest.raises(ValueError, match="not a run directory"):
        Config.of_run(tmp_path)


def test_a_run_folder_explains_itself(trained_run):
    config = json.loads((trained_run / "config.json").read_text())
    assert config["command"].startswith("python -m dcgan.train --epochs 2")
    assert config["steps_per_epoch"] == 3 and config["data_source"] == "bundled MNIST sample"
    summary = (trained_run / "summary.txt").read_text()
    for words in (
        "run directory",
        str(trained_run),
        "bundled MNIST sample",
        "precision",
        "1,705,601 parameters",
        "1,558,017 parameters",
    ):
        assert words in summary, words
    assert summary in (trained_run / "stdout.txt").read_text()  # the start banner


def test_make_run_dir_never_reuses_a_run(trained_run):
    with pytest.raises(ValueError, match="already holds a run: continue it with --resume"):
        training.make_run_dir(trained_run)


def test_steps_per_epoch_is_a_full_pass_or_the_cap():
    assert training.steps_per_epoch(Config(batch_size=256), 60000) == 468
    assert training.steps_per_epoch(Config(batch_size=256, steps_per_epoch=5), 60000) == 5
