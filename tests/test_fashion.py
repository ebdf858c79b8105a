"""Fashion-MNIST is scored with a classifier of its own, chosen from the data a run trained on;
images no classifier here reads get one line saying so and the scores that need none."""

import json

import numpy as np
import pytest

from dcgan import classifier as classifiers
from dcgan import data, datasets, evaluate, files, generate, training
from dcgan.cli import UsageError, run_cli
from dcgan.settings import Config

MNIST_CLASSIFIER = files.shipped("classifier")
FASHION_CLASSIFIER = files.shipped("fashion_classifier")


@pytest.fixture(autouse=True)
def no_environment(monkeypatch):
    """Each test sees only the environment variables it sets itself."""
    for name in files.ENV.values():
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def fashion():
    """Fashion-MNIST's (train, test) images and labels: Keras's download, else Debian's
    dataset-fashion-mnist; skipped where neither is here."""
    try:
        return (
            data.load("fashion_mnist", "train", log=lambda m: None),
            data.load("fashion_mnist", "test", log=lambda m: None),
        )
    except FileNotFoundError as e:
        pytest.skip(f"no Fashion-MNIST here: {e}")


def idx_folder(folder):
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"")  # named is enough to tell
    return folder


def picture_folder(folder):
    from PIL import Image

    (folder / "cats").mkdir(parents=True)
    Image.new("RGB", (40, 30), "orange").save(folder / "cats" / "a.png")
    return folder


def test_class_names_in_one_place():
    names = datasets.CLASS_NAMES[datasets.FASHION]
    assert len(names) == files.NUM_CLASSES and names[7] == "Sneaker" and names[9] == "Ankle boot"
    assert datasets.class_name(datasets.FASHION, 7) == "7 (Sneaker)"
    assert datasets.class_name(datasets.MNIST, 7) == "7"
    assert datasets.noun(datasets.MNIST) == "digits" and datasets.noun(datasets.FASHION) == "images"


def keras_npz(path, train, test):
    """(images, labels) pairs saved as Keras's mnist.npz is: any name, any data."""
    np.savez(path, x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    return path


def idx_copy(folder, train, test):
    """(images, labels) pairs as an IDX folder (MNIST's file names, whatever the data)."""
    folder.mkdir()
    for prefix, (x, y) in (("train", train), ("t10k", test)):
        for kind, array, code in (("images", x, 3), ("labels", y, 1)):
            head = bytes([0, 0, 8, code]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
            name = f"{prefix}-{kind}-idx{code}-ubyte"
            (folder / name).write_bytes(head + np.ascontiguousarray(array, np.uint8).tobytes())
    return folder


@pytest.fixture(scope="module")
def renamed(fashion, tmp_path_factory):
    """Each data set under the other's name, or under none: the name must not decide."""
    where = tmp_path_factory.mktemp("renamed")
    (x, y, _), (xt, yt, _) = fashion
    clothes = (x[:2000], y[:2000]), (xt[:1000], yt[:1000])
    sx, sy, _ = data.load("sample", "train", log=lambda m: None)
    tx, ty, _ = data.load("sample", "test", log=lambda m: None)
    digits = (sx, sy), (tx, ty)
    return {
        datasets.FASHION: [
            keras_npz(where / "clothes.npz", *clothes),
            keras_npz(where / "mnist.npz", *clothes),
            idx_copy(where / "mydata", *clothes),
        ],
        datasets.MNIST: [
            keras_npz(where / "fashion_digits.npz", *digits),
            idx_copy(where / "fashion-mnist", *digits),
        ],
    }


def test_classifier_chosen_by_what_the_images_are(renamed, tmp_path):
    for mnist in (None, "sample"):
        assert classifiers.for_data(mnist) == (
            MNIST_CLASSIFIER,
            "the shipped MNIST classifier",
            datasets.MNIST,
        )
    for kind, sources in renamed.items():
        classifier = {datasets.MNIST: MNIST_CLASSIFIER, datasets.FASHION: FASHION_CLASSIFIER}
        for source in sources:
            path, where, got = classifiers.for_data(str(source))
            assert (path, got) == (classifier[kind], kind), source
            assert datasets.title(kind) in where
    # a folder of your own images: none, and one line saying why
    path, why, _ = classifiers.for_data(str(picture_folder(tmp_path / "pictures")))
    assert path is None and "pictures" in why and "\n" not in why
    path, why, _ = classifiers.for_data("mnist", shape=(32, 32, 3))
    assert path is None and "32x32x3" in why


@pytest.mark.parametrize(
    "images",
    [
        lambda x: np.random.default_rng(0).integers(0, 256, x.shape, dtype=np.uint8),  # noise
        lambda x: 255 - x,  # digits, inverted
    ],
)
def test_images_neither_classifier_reads_have_none(images, tmp_path):
    x, y, _ = data.load("sample", "test", log=lambda m: None)
    source = keras_npz(tmp_path / "digits.npz", (images(x), y), (images(x), y))
    path, why, kind = classifiers.for_data(str(source))
    assert path is None and kind is None and "\n" not in why
    assert "no classifier here reads" in why and "--train-classifier" in why
    assert "MNIST's 0." in why and "Fashion-MNIST's 0." in why  # what was measured


def test_a_classifier_of_other_data_is_refused(renamed, tmp_path, monkeypatch):
    clothes, digits = renamed[datasets.FASHION][0], renamed[datasets.MNIST][0]
    for source, wrong, right in (
        (clothes, MNIST_CLASSIFIER, FASHION_CLASSIFIER),
        (digits, FASHION_CLASSIFIER, MNIST_CLASSIFIER),
    ):
        with pytest.raises(ValueError, match="does not read .* mean confidence") as e:
            classifiers.for_data(str(source), str(wrong))
        assert "\n" not in str(e.value) and "--classifier none" in str(e.value)
        assert classifiers.for_data(str(source), str(right))[::2] == (
            right,
            classifiers.for_data(str(source)).kind,
        )
    # a copy of the MNIST classifier, under a name that says nothing: judged by its confidence
    copy = tmp_path / "mine.h5"
    copy.write_bytes(MNIST_CLASSIFIER.read_bytes())
    with pytest.raises(ValueError, match="below the 0.8 of a classifier of their own data"):
        classifiers.for_data(str(clothes), str(copy))
    assert classifiers.for_data(str(digits), str(copy)) == (copy, "--classifier", datasets.MNIST)
    monkeypatch.setenv(files.ENV["classifier"], str(copy))  # "for any data": judged the same
    with pytest.raises(ValueError, match="\\$DCGAN_CLASSIFIER .* does not read"):
        classifiers.for_data(str(clothes))


def test_flag_and_environment_override(fashion, tmp_path, monkeypatch):
    mine = tmp_path / "mine.h5"
    mine.write_bytes(FASHION_CLASSIFIER.read_bytes())
    assert classifiers.for_data("fashion_mnist", str(mine))[:2] == (mine, "--classifier")
    assert classifiers.for_data("fashion_mnist", "none")[0] is None
    monkeypatch.setenv(files.ENV["fashion_classifier"], str(mine))
    assert classifiers.for_data("fashion_mnist")[:2] == (mine, "$DCGAN_FASHION_CLASSIFIER")
    assert classifiers.for_data("sample")[0] == MNIST_CLASSIFIER  # Fashion-MNIST's only
    monkeypatch.setenv(files.ENV["data"], "fashion_mnist")  # --data's default
    assert classifiers.for_data(None)[0] == mine


def test_the_run_config_beside_a_model_names_its_data(tmp_path):
    model = tmp_path / "run" / "generator_ema.h5"
    model.parent.mkdir()
    assert datasets.run_config(model) is None
    config = {"data": "fashion_mnist", "data_source": "fashion_mnist (/usr/share/x)"}
    (model.parent / "config.json").write_text(json.dumps(config))
    assert datasets.run_data(datasets.run_config(model)) == ("fashion_mnist", datasets.FASHION)
    # the default data, resolved when the run started
    config = {"data": None, "data_source": "fashion_mnist (/usr/share/datasets/fashion-mnist)"}
    assert datasets.run_data(config) == ("fashion_mnist", datasets.FASHION)
    assert datasets.run_data({"data": "sample"}) == ("sample", datasets.MNIST)
    # a copy of MNIST that is not on this machine: the default data, MNIST as ever
    assert datasets.run_data({"data": "/elsewhere/mnist.npz"}) == (None, datasets.MNIST)
    for name in ("generator", "conditional_generator"):
        shipped = datasets.run_config(files.shipped(name))
        assert datasets.run_data(shipped) == (None, datasets.MNIST), name
    shipped = datasets.run_config(files.shipped("fashion_generator"))
    assert datasets.run_data(shipped) == ("fashion_mnist", datasets.FASHION)
    (model.parent / "config.json").write_text("not json")
    assert datasets.run_config(model) is None


def test_shipped_fashion_classifier_reads_clothes(fashion):
    _, (x_test, y_test, _) = fashion
    clf = classifiers.load_classifier(FASHION_CLASSIFIER)
    _, probs = classifiers.features_and_probs(clf, x_test)
    accuracy = float(np.mean(probs.argmax(1) == y_test))
    assert accuracy == pytest.approx(0.9069, abs=5e-4)  # its card's number
    # the digit classifier reads clothes as nothing much: why each dataset has its own
    mnist = classifiers.load_classifier(MNIST_CLASSIFIER)
    assert np.mean(classifiers.features_and_probs(mnist, x_test)[1].argmax(1) == y_test) < 0.3


@pytest.mark.slow  # scores 2,000+ images with the classifier in-process: ~12 s
def test_evaluate_fashion_uses_its_classifier(fashion, tmp_path, monkeypatch, capsys):
    (x_train, y_train, _), _ = fashion
    pick = np.random.default_rng(0).choice(len(x_train), 1000, replace=False)
    np.savez(tmp_path / "real.npz", images=x_train[pick], digits=y_train[pick])
    loaded = []
    load = classifiers.load_classifier
    monkeypatch.setattr(classifiers, "load_classifier", lambda p=None: loaded.append(p) or load(p))
    args = [
        "--images",
        tmp_path / "real.npz",
        "--data",
        "fashion_mnist",
        "--json",
        tmp_path / "s.json",
    ]
    assert evaluate.main(list(map(str, args))) == 0
    assert loaded[-1] == FASHION_CLASSIFIER  # after the shipped ones told what the data is
    out = capsys.readouterr().out
    assert "test images of fashion_mnist" in out and "Fashion-MNIST classifier" in out
    assert "digit" not in out and "Sneaker" in out and "Ankle boot" in out
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores["dataset"] == datasets.FASHION
    assert scores["classifier"] == str(FASHION_CLASSIFIER)
    # real clothes read as the class they are, as often as the classifier's test accuracy
    assert scores["generated"]["agreement"] > 0.88
    assert scores["generated"]["fid"] < 2.0 and scores["real"]["fid"] < 2.0


def test_no_classifier_one_line_and_own_scores(tmp_path, monkeypatch, capsys):
    """A folder of your own images: faked as data `for_data` finds no classifier for, with the
    bundled sample standing in for its images."""
    x, _, _ = data.load("sample", "test")
    np.savez(tmp_path / "mine.npz", images=x[:200])
    why = "no classifier here reads my/pictures: it is neither MNIST nor Fashion-MNIST"
    monkeypatch.setattr(classifiers, "for_data", lambda *a, **k: classifiers.Choice(None, why))
    monkeypatch.setattr(classifiers, "load_classifier", lambda *a: pytest.fail("loaded one"))
    args = ["--images", tmp_path / "mine.npz", "--data", "sample", "--json", tmp_path / "s.json"]
    assert evaluate.main(list(map(str, args))) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(why) and "random multi-scale convnet" in lines[0]
    assert not any("FID vs test" in line or "classifier score" in line for line in lines[1:])
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores["classifier"] is None
    got, real = scores["generated"], scores["real"]
    assert got["n"] == 200 and real["n"] == 200
    # real digits against other real digits: about the floor
    assert got["fid"] < 2 * real["fid"]
    assert got["precision"] > 0.5 and got["recall"] > 0.5


def test_training_without_a_classifier_says_so_once(tmp_path, monkeypatch):
    notes = []
    cfg = Config(data=str(picture_folder(tmp_path / "pictures")), eval_every=1)
    monkeypatch.setattr(training, "load_classifier", lambda *a: pytest.fail("loaded one"))
    assert training.prepare_evaluation(cfg, None, None, log=notes.append) is None
    assert len(notes) == 1 and "pictures" in notes[0] and "without FID" in notes[0]
    _, callbacks = training.make_callbacks(cfg, tmp_path / "run", chief=True, evaluation=None)
    assert not any(type(c).__name__ == "Evaluate" for c in callbacks)


@pytest.mark.parametrize("which", [0, 1, 2])  # clothes.npz, mnist.npz, mydata/
def test_training_scores_clothes_with_their_classifier(renamed, which, monkeypatch):
    source = renamed[datasets.FASHION][which]
    x_train, y_train, _ = data.load(str(source), "train", log=lambda m: None)
    loaded = []
    monkeypatch.setattr(training, "load_classifier", lambda p=None: loaded.append(p) or "clf")
    monkeypatch.setattr(training.metrics, "real_features", lambda clf, x, classes: len(x))
    cfg = Config(data=str(source), eval_every=1)
    assert training.prepare_evaluation(cfg, x_train, y_train) == ("clf", 1000, 2000)
    assert loaded == [FASHION_CLASSIFIER]
    assert classifiers.identify(x_train)[0] == datasets.FASHION  # what config.json records


def test_a_run_records_what_its_images_are(tiny_run):
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["dataset"] == datasets.MNIST


@pytest.fixture(scope="module")
def fashion_generator(tmp_path_factory):
    """An untrained conditional generator in a run folder whose config.json says Fashion-MNIST."""
    from dcgan.models import build_pair

    run = tmp_path_factory.mktemp("fashion-run")
    build_pair(conditional=True)[0].save(run / "generator.h5")
    (run / "config.json").write_text(json.dumps({"data": "fashion_mnist", "conditional": True}))
    return run / "generator.h5"


@pytest.mark.parametrize("asked", ["7", "Sneaker", "sneaker"])
def test_generate_names_the_class(fashion_generator, tmp_path, capsys, asked):
    out = tmp_path / "x.npz"
    argv = ["--class", asked, "-n", "3", "--seed", "1", "--model", str(fashion_generator)]
    assert generate.main([*argv, "--out", str(out)]) == 0
    assert "3 images of class 7 (Sneaker)" in capsys.readouterr().out
    assert (np.load(out)["digits"] == 7).all()


def test_generate_refuses_a_clothes_name_for_digits(fashion_generator, tmp_path):
    with pytest.raises(UsageError, match="'Bag' is not a class of .*its classes are 0-9$"):
        argv = ["--class", "Bag", "--model", str(files.shipped("conditional_generator"))]
        generate.main([*argv, "--out", str(tmp_path / "x.png")])
    with pytest.raises(UsageError, match="'Hat' is not a class of .*its classes are 0-9"):
        generate.main(["--class", "Hat", "--out", str(tmp_path / "x.png")])
    # the Fashion generator without the run settings that say what its classes are
    bare = tmp_path / "bare" / "generator.h5"
    bare.parent.mkdir()
    bare.write_bytes(fashion_generator.read_bytes())
    with pytest.raises(UsageError, match="'Sneaker' is not a class of .*unknown.*by number"):
        generate.main(
            ["--class", "Sneaker", "--model", str(bare), "--out", str(tmp_path / "x.png")]
        )
    # settings that say digits: the class names are the digits, whatever the file is called
    (bare.parent / "config.json").write_text(
        json.dumps({"data": "fashion.npz", "dataset": "mnist"})
    )
    with pytest.raises(UsageError, match="'Sneaker' is not a class of .*its classes are 0-9$"):
        generate.main(
            ["--class", "Sneaker", "--model", str(bare), "--out", str(tmp_path / "x.png")]
        )


def test_class_names_are_the_runs_never_its_files(tmp_path):
    names = datasets.CLASS_NAMES
    assert datasets.class_names({"data": "fashion_mnist"}) == names[datasets.FASHION]
    assert (
        datasets.class_names({"data": None, "data_source": "bundled MNIST sample"})
        == names[datasets.MNIST]
    )
    assert datasets.class_names({"data": None}) == names[datasets.MNIST]  # before data_source
    for recorded in (datasets.MNIST, datasets.FASHION):  # told by the data when it trained
        for data_name in ("fashion.npz", "mnist.npz", "/x/mydata"):
            config = {"data": data_name, "dataset": recorded}
            assert datasets.class_names(config) == names[recorded]
    for unknown in (
        {"data": "clothes.npz"},
        {"data": "fashion_digits.npz"},
        {"data": "/x/mydata"},
        None,
    ):
        assert datasets.class_names(unknown) is None, unknown
    assert datasets.class_names({"dataset": None}) is None  # images no shipped classifier reads
    assert datasets.class_names({"train_classes": ["cat", "dog"], "dataset": None}) == (
        "cat",
        "dog",
    )


@pytest.mark.slow  # scores 2,000+ images with the classifier in-process: ~12 s
def test_evaluate_reads_the_runs_data_beside_the_model(fashion, fashion_generator, capsys):
    """--model and no --data: the run's config.json says Fashion-MNIST, so that is the data and
    its classifier, and the output says so."""
    assert evaluate.main(["--model", str(fashion_generator), "-n", "100", "--k", "3"]) == 0
    out, err = capsys.readouterr()
    assert "scoring against fashion_mnist (Fashion-MNIST), the data of the run in" in err
    assert "test images of fashion_mnist" in out and "Fashion-MNIST classifier" in out
    assert "Sneaker" in out  # the per-class table of a conditional generator


def test_classifier_none_asks_for_the_own_scores(tmp_path, capsys):
    x, _, _ = data.load("sample", "test")
    np.savez(tmp_path / "mine.npz", images=x[:100])
    argv = ["--images", str(tmp_path / "mine.npz"), "--data", "sample", "--classifier", "none"]
    assert evaluate.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("--classifier none asks for no classifier; scored in")
    assert "precision (k-NN)" in out and "FID vs test" not in out and "floor:" in out


def test_train_classifier_speaks_of_images(fashion, tmp_path, monkeypatch, capsys):
    """Only the words: the training itself is the card's command (six minutes on 2 cores)."""
    stub = lambda x, y, xt, yt, **kw: (classifiers.build_classifier(), 0.5)
    monkeypatch.setattr(classifiers, "train_classifier", stub)
    argv = ["--train-classifier", "--data", "fashion_mnist", "--out", str(tmp_path / "c.h5")]
    assert evaluate.main(argv) == 0
    out = capsys.readouterr().out
    assert "trained on 60000 images of fashion_mnist" in out and "on 10000 images" in out
    assert "digit" not in out


def test_a_class_by_name_draws_from_the_shipped_fashion_generator(tmp_path, capsys):
    argv = ["--class", "Sneaker", "-n", "2", "--seed", "1", "--out", str(tmp_path / "x.npz")]
    if not files.shipped("fashion_generator").exists():
        with pytest.raises(UsageError, match="no Fashion-MNIST generator ships"):
            generate.main(argv)
        return
    assert generate.main(argv) == 0
    assert "2 images of class 7 (Sneaker)" in capsys.readouterr().out


@pytest.mark.slow  # scores 2,000 images with the classifier in-process: ~15 s
def test_evaluate_names_what_the_images_are_not_their_files(renamed, tmp_path, capsys):
    clothes, digits = renamed[datasets.FASHION][0], renamed[datasets.MNIST][0]
    for source, says, never in (
        (clothes, ("Sneaker", "Fashion-MNIST classifier", "class mix"), "digit"),
        (digits, ("digit mix", "MNIST classifier"), "Sneaker"),
    ):
        with np.load(source) as f:
            np.savez(tmp_path / "real.npz", images=f["x_train"][:1000])
        argv = ["--images", tmp_path / "real.npz", "--data", source, "--json", tmp_path / "s.json"]
        assert evaluate.main(list(map(str, argv))) == 0
        out = capsys.readouterr().out
        assert all(s in out for s in says) and never not in out, out
        assert json.loads((tmp_path / "s.json").read_text())["generated"]["mean_confidence"] > 0.85


@pytest.mark.parametrize("which", ["clothes", "digits"])
def test_evaluate_refuses_a_classifier_of_other_data_in_one_line(renamed, which, tmp_path, capsys):
    source = renamed[datasets.FASHION if which == "clothes" else datasets.MNIST][0]
    wrong = MNIST_CLASSIFIER if which == "clothes" else FASHION_CLASSIFIER
    with np.load(source) as f:
        np.savez(tmp_path / "real.npz", images=f["x_train"][:100])
    argv = ["--images", tmp_path / "real.npz", "--data", source, "--classifier", wrong]
    with pytest.raises(SystemExit) as e:
        run_cli(evaluate.main, list(map(str, argv)))
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "does not read" in err, err
    assert "--classifier none" in err


@pytest.mark.slow  # draws and scores a few images against 1,000 test images, twice: ~20 s
def test_evaluate_warns_of_other_data_than_the_runs_by_what_it_is(
    renamed, fashion_generator, tmp_path, capsys
):
    """A run that recorded clothes, scored against clothes.npz: no warning whatever the name;
    against digits named fashion_digits.npz: a warning that they are MNIST."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "generator.h5").write_bytes(fashion_generator.read_bytes())
    config = {"data": "/elsewhere/x.npz", "dataset": datasets.FASHION, "conditional": True}
    (run / "config.json").write_text(json.dumps(config))
    clothes, digits = renamed[datasets.FASHION][0], renamed[datasets.MNIST][0]
    for data_arg, warned in ((clothes, False), (digits, True)):
        argv = ["--model", run / "generator.h5", "-n", 20, "--data", data_arg]
        assert evaluate.main(list(map(str, argv))) == 0
        out, err = capsys.readouterr()
        said = "says the run trained on Fashion-MNIST, and --data"
        assert (said in err) == warned, err
        if warned:
            assert f"{data_arg} is MNIST" in err and "digit mix" in out
        else:
            assert "Sneaker" in out and "class mix" in out
