"""Sample-quality metrics: the numpy/scipy maths against independent references, the evaluate
CLI's handling of bad input, and a sanity check that an untrained generator scores badly."""

import json
from pathlib import Path

import numpy as np
import pytest

from dcgan import classifier as classifiers
from dcgan import data, metrics

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "saved_models" / "classifier" / "classifier.h5"


def reference_fid(a, b):
    """FID through eigendecompositions only: tr sqrt(S1 S2) = sum sqrt(eig(S1^1/2 S2 S1^1/2))."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = np.linalg.eigvalsh(root @ s2 @ root)
    return (
        np.sum((m1 - m2) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.sum(np.sqrt(np.clip(eig, 0, None)))
    )


def one_hot(classes, n_classes=10):
    return np.eye(n_classes)[np.asarray(classes)]


@pytest.mark.parametrize("d", [1, 8, 64])
def test_fid_matches_independent_reference(d):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(400, d)) @ rng.normal(size=(d, d))
    b = rng.normal(0.3, 1.5, size=(300, d)) @ rng.normal(size=(d, d))
    assert metrics.fid(a, b) == pytest.approx(reference_fid(a, b), rel=1e-6)
    assert metrics.fid(a, b) == pytest.approx(metrics.fid(b, a), rel=1e-6)


def test_frechet_distance_of_known_gaussians():
    # 1-D: (m1 - m2)^2 + (sd1 - sd2)^2
    assert metrics.frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(9 + 1)
    # diagonal covariances: sum of the 1-D distances
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 4.0, 1.0])
    assert metrics.frechet_distance(np.zeros(3), s1, np.ones(3), s2) == pytest.approx(3 + 1 + 0 + 4)


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 32))
    assert abs(metrics.fid(a, a)) < 1e-6
    # singular covariances (dead ReLU units) too
    a[:, :5] = 0.0
    assert abs(metrics.fid(a, a)) < 1e-6


def test_classifier_score_and_coverage_bounds():
    uniform = one_hot(np.arange(1000) % 10)
    assert metrics.classifier_score(uniform) == pytest.approx(10.0)
    assert metrics.coverage(uniform) == pytest.approx(10.0)
    assert metrics.mean_confidence(uniform) == pytest.approx(1.0)
    np.testing.assert_allclose(metrics.class_histogram(uniform), np.full(10, 0.1))
    single = one_hot(np.full(500, 7))
    assert metrics.classifier_score(single) == pytest.approx(1.0)
    assert metrics.coverage(single) == pytest.approx(1.0)
    # unsure about everything: every p(y|x) equals p(y), so no information
    flat = np.full((100, 10), 0.1)
    assert metrics.classifier_score(flat) == pytest.approx(1.0)
    assert metrics.mean_confidence(flat) == pytest.approx(0.1)
    # two classes, half each
    assert metrics.coverage(one_hot(np.arange(100) % 2)) == pytest.approx(2.0)
    assert metrics.classifier_score(one_hot(np.arange(100) % 2)) == pytest.approx(2.0)


def test_precision_recall_identical_and_disjoint():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 16))
    assert metrics.precision_recall(a, a.copy(), k=3) == (1.0, 1.0)
    far = rng.normal(size=(300, 16)) + 100.0
    p, r = metrics.precision_recall(a, far, k=3)
    assert p < 0.01 and r < 0.01
    # chunking does not change the answer
    b = rng.normal(size=(250, 16)) * 1.3
    assert metrics.precision_recall(a, b, k=3, chunk=37) == metrics.precision_recall(
        a, b, k=3, chunk=1000
    )


def test_precision_recall_sees_mode_dropping():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 8)) * 20
    real = np.concatenate([c + rng.normal(size=(100, 8)) for c in centres])
    half = np.concatenate([c + rng.normal(size=(200, 8)) for c in centres[:2]])
    p, r = metrics.precision_recall(real, half, k=3)
    assert p > 0.7 and 0.3 < r < 0.6  # realistic samples, only half the modes


def assert_usage_error(proc, *words):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for w in words:
        assert w in lines[0], lines[0]


def test_evaluate_defaults_to_the_generator_generate_draws_with(tmp_path, monkeypatch, capsys):
    from dcgan import evaluate, files

    assert "$DCGAN_GENERATOR, else the shipped generator" in " ".join(
        evaluate.parser().format_help().split()
    )
    monkeypatch.delenv("DCGAN_GENERATOR", raising=False)
    argv = ["-n", "20", "--data", "sample", "--json", str(tmp_path / "s.json")]
    assert evaluate.main(argv) == 0
    assert str(files.shipped("generator")) in capsys.readouterr().out
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["model"] == str(files.shipped("generator")) and saved["generated"]["n"] == 20


@pytest.mark.parametrize(
    "argv, env, words",
    [
        ([], "absent.h5", ["absent.h5", "$DCGAN_GENERATOR", "pass --model"]),
        (["--model", "g.h5", "--images", "x.npz"], None, ["--model", "--images", "not both"]),
    ],
)
def test_evaluate_without_a_generator_to_score_is_one_line(argv, env, words, tmp_path, monkeypatch):
    from dcgan import evaluate
    from dcgan.cli import UsageError

    monkeypatch.chdir(tmp_path)
    if env:
        monkeypatch.setenv("DCGAN_GENERATOR", str(tmp_path / env))
    with pytest.raises(UsageError) as e:
        evaluate.main(argv)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value)


@pytest.mark.slow
def test_cli_missing_model(tmp_path, python_cli):
    assert_usage_error(
        python_cli(
            "-m", "dcgan.evaluate", "--model", str(tmp_path / "nope.h5"), "--data", "sample"
        ),
        "not found",
    )


@pytest.mark.slow
def test_cli_text_file_as_model(tmp_path, python_cli):
    bogus = tmp_path / "generator.h5"
    bogus.write_text("not a model\n")
    assert_usage_error(
        python_cli("-m", "dcgan.evaluate", "--model", str(bogus), "--data", "sample"), "--model"
    )


@pytest.mark.slow
def test_cli_bad_n_and_flags(tmp_path, python_cli):
    assert_usage_error(
        python_cli("-m", "dcgan.evaluate", "--model", str(tmp_path / "g.h5"), "-n", "0"), "-n"
    )
    assert_usage_error(python_cli("-m", "dcgan.evaluate", "--bogus-flag"), "--help")


@pytest.mark.slow
def test_cli_images_of_wrong_shape(tmp_path, python_cli):
    path = tmp_path / "samples.npz"
    np.savez(path, images=np.zeros((5, 32, 32), np.uint8))
    assert_usage_error(
        python_cli("-m", "dcgan.evaluate", "--images", str(path), "--data", "sample"), "(n, 28, 28)"
    )


def test_check_images():
    assert data.check_images(np.zeros((3, 28, 28, 1), np.uint8)).shape == (3, 28, 28)
    for bad in (
        np.zeros((3, 28, 28), np.float32),
        np.zeros((3, 27, 28), np.uint8),
        np.zeros((0, 28, 28), np.uint8),
    ):
        with pytest.raises(ValueError):
            data.check_images(bad)


def test_untrained_generator_scores_worse_than_real_digits():
    import keras

    from dcgan import data
    from dcgan.models import build_generator

    classifier = classifiers.load_classifier(SHIPPED)
    test, _, _ = data.load("sample", "test")
    train, _, _ = data.load("sample", "train")
    ref = metrics.real_features(classifier, test)
    real = metrics.evaluate_images(classifier, train[:500], ref)
    keras.utils.set_random_seed(0)
    fake = metrics.evaluate_generator(build_generator(), classifier, ref, n=500, seed=0)
    assert real["fid"] < 5 and fake["fid"] > 10 * real["fid"] + 20
    assert real["classifier_score"] > 8 and fake["classifier_score"] < real["classifier_score"] - 3
    assert real["coverage"] > 9 and fake["coverage"] < real["coverage"] - 3
    # Not precision: an untrained G draws one grey blob for every z, and that single point can
    # land inside the k-NN ball of an odd real digit, which makes precision 1.0. Recall sees it.
    assert real["precision"] > 0.7 and real["recall"] > 0.7 and fake["recall"] < 0.05


@pytest.mark.slow
def test_brief_training_beats_untrained_on_every_metric(tmp_path, python_cli):
    """A few hundred steps on the sample, scored during training by --eval-every."""
    import csv
    import json

    import keras

    from dcgan import data, sampling
    from dcgan.models import build_generator

    run = tmp_path / "run"
    args = (
        "--epochs 3 --steps-per-epoch 50 --batch-size 64 --data sample --eval-every 3"
        " --eval-samples 500 --save-every 10 --quiet"
    )
    p = python_cli("-m", "dcgan.train", *args.split(), "--out", run, timeout=900)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert rows[0]["fid"] == "nan"
    # Kept: the EMA generator, picked by its FID against training digits.
    best = json.loads((run / "best.json").read_text())
    assert (best["against"], best["generator"]) == ("training digits", "ema")
    assert float(rows[2]["fid_train"]) == pytest.approx(best["fid"], rel=1e-5)
    assert float(rows[2]["fid_ema"]) == pytest.approx(best["fid_test"], rel=1e-5)
    classifier = classifiers.load_classifier(SHIPPED)
    ref = metrics.real_features(classifier, data.load("sample", "test")[0])
    trained = metrics.evaluate_generator(
        sampling.load_generator(run / "generator_best.h5"), classifier, ref, n=500
    )
    keras.utils.set_random_seed(0)
    untrained = metrics.evaluate_generator(build_generator(), classifier, ref, n=500)
    assert trained["fid"] < untrained["fid"] / 2
    for k in ("classifier_score", "coverage", "mean_confidence"):
        assert trained[k] > untrained[k] + 0.1, (k, trained[k], untrained[k])
    # 150 steps cover few of the real digits' neighbourhoods (we saw 0.04), but not none.
    assert trained["recall"] > max(untrained["recall"], 0.01)
    # Precision: see test_untrained_generator_scores_worse_than_real_digits.
